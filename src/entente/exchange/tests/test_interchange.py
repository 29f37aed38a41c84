"""STANAG 4774 labels out and back, and the 4778-style signed binding: what is changed, moved to
another payload, signed by a stranger, malformed or carrying a DTD is refused."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from entente.exchange import interchange
from entente.exchange.interchange import InterchangeError
from entente.security.labels import LabelSpec, make_label, spec_of
from entente.testing import community

pytestmark = pytest.mark.django_db

CREATED = dt.datetime(2025, 1, 31, 9, 0, tzinfo=dt.UTC)
PAYLOAD = hashlib.sha256(b"the payload").hexdigest()


@pytest.fixture
def label():
    community("seeker-trials")
    return make_label(LabelSpec.parse("GBR/SECRET|rel=GBR,JPN|cav=crypto|com=seeker-trials"))


def _xml(label) -> bytes:
    return interchange.label_to_xml(label, created=CREATED, originator_id="urn:entente:node:gbr")


def test_the_xml_is_stanag_4774_and_round_trips_to_the_same_spec(label):
    xml = _xml(label)
    text = xml.decode()
    assert 'xmlns:slab="urn:nato:stanag:4774:confidentialitymetadatalabel:1:0"' in text
    assert "<slab:PolicyIdentifier>GBR</slab:PolicyIdentifier>" in text
    assert "<slab:Classification>SECRET</slab:Classification>" in text
    assert '<slab:Category TagName="Releasable To" Type="PERMISSIVE">' in text
    assert '<slab:Category TagName="Caveat" Type="RESTRICTIVE">' in text
    assert '<slab:Category TagName="Community" Type="RESTRICTIVE">' in text
    assert "<slab:GenericValue>JPN</slab:GenericValue>" in text
    assert "<slab:CreationDateTime>2025-01-31T09:00:00Z</slab:CreationDateTime>" in text
    assert '<slab:OriginatorID IDType="uniformResourceIdentifier">' in text
    spec = interchange.xml_to_spec(xml)
    assert spec == spec_of(label)
    assert spec.canonical() == label.canonical


def test_an_unknown_marking_or_nation_is_refused_by_validation(label):
    xml = _xml(label).replace(b"<slab:GenericValue>JPN<", b"<slab:GenericValue>XXX<")
    with pytest.raises(InterchangeError, match="Unknown nation"):
        interchange.xml_to_spec(xml)


def test_an_unknown_restrictive_category_is_refused_an_informative_one_ignored(label):
    extra = (b'<slab:Category TagName="Special Handling" Type="RESTRICTIVE">'
             b"<slab:GenericValue>X</slab:GenericValue></slab:Category>")
    xml = _xml(label).replace(b"</slab:ConfidentialityInformation>",
                              extra + b"</slab:ConfidentialityInformation>")
    with pytest.raises(InterchangeError, match="cannot be enforced"):
        interchange.xml_to_spec(xml)
    informative = xml.replace(b'TagName="Special Handling" Type="RESTRICTIVE"',
                              b'TagName="Special Handling" Type="INFORMATIVE"')
    assert interchange.xml_to_spec(informative) == spec_of(label)


def test_a_binding_verifies_and_gives_the_label(label):
    binding = interchange.bind(PAYLOAD, _xml(label))
    assert b"BindingInformation" in binding and PAYLOAD.encode() in binding
    assert interchange.verify_binding(binding, PAYLOAD) == spec_of(label)
    # Indentation is not content: a re-indented binding still verifies.
    assert interchange.verify_binding(re.sub(rb">\s+<", b"><", binding), PAYLOAD.upper()) \
        == spec_of(label)
    key = interchange.node_public_key()
    assert interchange.verify_binding(binding, PAYLOAD, {key}) == spec_of(label)


def test_a_tampered_label_fails_verification(label):
    binding = interchange.bind(PAYLOAD, _xml(label))
    make_label(LabelSpec.parse("GBR/OFFICIAL|rel=GBR,JPN|cav=crypto|com=seeker-trials"))
    lowered = binding.replace(b"<slab:Classification>SECRET<", b"<slab:Classification>OFFICIAL<")
    assert lowered != binding
    with pytest.raises(InterchangeError, match="signature does not verify"):
        interchange.verify_binding(lowered, PAYLOAD)
    widened = binding.replace(b"<slab:GenericValue>crypto</slab:GenericValue>", b"")
    with pytest.raises(InterchangeError, match="signature does not verify"):
        interchange.verify_binding(widened, PAYLOAD)


def test_a_binding_for_another_payload_fails(label):
    binding = interchange.bind(PAYLOAD, _xml(label))
    other = hashlib.sha256(b"another payload").hexdigest()
    with pytest.raises(InterchangeError, match="different payload"):
        interchange.verify_binding(binding, other)
    # Rewriting the data reference too does not help: the signature covers it.
    moved = binding.replace(PAYLOAD.encode(), other.encode())
    with pytest.raises(InterchangeError, match="signature does not verify"):
        interchange.verify_binding(moved, other)


def test_an_unknown_signer_is_refused(label):
    binding = interchange.bind(PAYLOAD, _xml(label))
    stranger = Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex()
    with pytest.raises(InterchangeError, match="unknown key"):
        interchange.verify_binding(binding, PAYLOAD, {stranger})
    # A record re-signed by someone else, naming their own key, is not trusted by default.
    own = interchange.node_public_key()
    with pytest.raises(InterchangeError, match="unknown key"):
        interchange.verify_binding(binding.replace(own.encode(), stranger.encode()), PAYLOAD)


def test_malformed_xml_is_a_clear_error(label):
    with pytest.raises(InterchangeError, match="not well-formed XML"):
        interchange.xml_to_spec(b"<slab:ConfidentialityLabel")
    with pytest.raises(InterchangeError, match="not well-formed XML"):
        interchange.verify_binding(b"not xml at all", PAYLOAD)
    with pytest.raises(InterchangeError, match="ConfidentialityLabel"):
        interchange.xml_to_spec(b"<label/>")
    with pytest.raises(InterchangeError, match="no Classification"):
        interchange.xml_to_spec(_xml(label).replace(b"<slab:Classification>SECRET</slab:"
                                                    b"Classification>", b""))
    with pytest.raises(InterchangeError, match="SHA-256"):
        interchange.bind("not-a-hash", _xml(label))


ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE lol [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<slab:ConfidentialityLabel xmlns:slab="urn:nato:stanag:4774:confidentialitymetadatalabel:1:0">
<slab:ConfidentialityInformation><slab:PolicyIdentifier>&lol2;</slab:PolicyIdentifier>
</slab:ConfidentialityInformation></slab:ConfidentialityLabel>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd">
<slab:ConfidentialityLabel xmlns:slab="urn:nato:stanag:4774:confidentialitymetadatalabel:1:0"/>"""


@pytest.mark.parametrize("xml", [ENTITY, EXTERNAL])
def test_xml_with_a_dtd_or_entities_is_refused(xml, label):
    with pytest.raises(InterchangeError, match="DTD or entities"):
        interchange.xml_to_spec(xml)
    with pytest.raises(InterchangeError, match="DTD or entities"):
        interchange.verify_binding(xml, PAYLOAD)
    with pytest.raises(InterchangeError, match="DTD or entities"):
        interchange.bind(PAYLOAD, xml)
