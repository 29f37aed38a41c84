"""Labels for other systems: NATO STANAG 4774 XML, and a STANAG 4778-style signed binding.

``label_to_xml`` writes a confidentiality label in the STANAG 4774 (ADatP-4774) syntax::

    <slab:ConfidentialityLabel xmlns:slab="urn:nato:stanag:4774:confidentialitymetadatalabel:1:0">
      <slab:ConfidentialityInformation>
        <slab:PolicyIdentifier>GBR</slab:PolicyIdentifier>       originator nation's scheme
        <slab:Classification>SECRET</slab:Classification>         a marking code of that scheme
        <slab:Category TagName="Releasable To" Type="PERMISSIVE">  any of these nations
          <slab:GenericValue>GBR</slab:GenericValue> ...
        <slab:Category TagName="Caveat" Type="RESTRICTIVE">        all of these caveats
        <slab:Category TagName="Community" Type="RESTRICTIVE">     all of these communities
      </slab:ConfidentialityInformation>
      <slab:OriginatorID IDType="...">...</slab:OriginatorID>
      <slab:CreationDateTime>2025-01-31T09:00:00Z</slab:CreationDateTime>
    </slab:ConfidentialityLabel>

``xml_to_spec`` reads it back (safely: no DTD, no entities, no network) and validates it against
our reference data. A category we do not know is refused rather than dropped, unless it is
INFORMATIVE: dropping a restrictive or permissive category would widen access.

``bind`` ties a label to a payload, in the manner of STANAG 4778 but without XML-DSig: a
``BindingInformation`` record holding the label, the payload's SHA-256 (the data reference), and a
detached Ed25519 signature by this node's signing key (the one the audit checkpoints use) over

    b"entente-binding/v1\\n" + payload SHA-256 (64 hex) + b"\\n" + C14N 2.0 of the label element

so re-indenting or re-prefixing the XML in transit does not break it, and changing any value does.
``verify_binding`` checks all of that and returns the label as a validated ``LabelSpec``.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import re
import xml.etree.ElementTree as ET  # building and canonicalising only; parsing is defusedxml

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _defused_fromstring

from entente.security.keystore import keyring
from entente.security.labels import LabelError, LabelSpec, spec_of, validate
from entente.security.models import Label

SLAB = "urn:nato:stanag:4774:confidentialitymetadatalabel:1:0"
BINDING = "urn:entente:binding:1"
ROOTS = ("ConfidentialityLabel", "originatorConfidentialityLabel")
RELEASABLE_TO, CAVEAT, COMMUNITY = "Releasable To", "Caveat", "Community"
_CATEGORIES = {RELEASABLE_TO: "PERMISSIVE", CAVEAT: "RESTRICTIVE", COMMUNITY: "RESTRICTIVE"}
_SIGNED_PREFIX = b"entente-binding/v1\n"
MAX_XML_BYTES = 1024 * 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

ET.register_namespace("slab", SLAB)
ET.register_namespace("bdo", BINDING)


class InterchangeError(ValueError):
    """Label XML or a binding that cannot be accepted; the message says why."""


def _q(name: str, ns: str = SLAB) -> str:
    return f"{{{ns}}}{name}"


# --------------------------------------------------------------------------- STANAG 4774


def label_to_xml(label: Label | LabelSpec, *, created: dt.datetime, originator_id: str,
                 originator_id_type: str = "uniformResourceIdentifier") -> bytes:
    """The label as STANAG 4774 XML (UTF-8, with an XML declaration)."""
    if created.tzinfo is None:
        raise InterchangeError("The creation time must be timezone-aware.")
    spec = label if isinstance(label, LabelSpec) else spec_of(label)
    root = ET.Element(_q("ConfidentialityLabel"))
    info = ET.SubElement(root, _q("ConfidentialityInformation"))
    ET.SubElement(info, _q("PolicyIdentifier")).text = spec.originator
    ET.SubElement(info, _q("Classification")).text = spec.classification
    for tag, values in ((RELEASABLE_TO, spec.releasable_to), (CAVEAT, spec.caveats),
                        (COMMUNITY, spec.communities)):
        if values:
            category = ET.SubElement(info, _q("Category"),
                                     {"TagName": tag, "Type": _CATEGORIES[tag]})
            for value in values:
                ET.SubElement(category, _q("GenericValue")).text = value
    if originator_id:
        ET.SubElement(root, _q("OriginatorID"), {"IDType": originator_id_type}).text = \
            originator_id
    ET.SubElement(root, _q("CreationDateTime")).text = (
        created.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _parse(xml: bytes, what: str) -> ET.Element:
    if not isinstance(xml, bytes | bytearray):
        raise InterchangeError(f"The {what} must be given as bytes.")
    if len(xml) > MAX_XML_BYTES:
        raise InterchangeError(f"The {what} is larger than {MAX_XML_BYTES} bytes.")
    try:
        element: ET.Element = _defused_fromstring(bytes(xml), forbid_dtd=True,
                                                  forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise InterchangeError(f"The {what} is refused: it declares a DTD or entities "
                               f"({type(error).__name__}).") from error
    except ET.ParseError as error:
        raise InterchangeError(f"The {what} is not well-formed XML: {error}.") from error
    return element


def _text(parent: ET.Element, name: str) -> str:
    found = parent.findall(_q(name))
    if len(found) > 1:
        raise InterchangeError(f"The label has more than one {name}.")
    if not found:
        raise InterchangeError(f"The label has no {name}.")
    value = (found[0].text or "").strip()
    if not value:
        raise InterchangeError(f"The label's {name} is empty.")
    return value


def _created(value: str) -> dt.datetime:
    try:
        created = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise InterchangeError(f"CreationDateTime '{value}' is not an ISO 8601 date and time."
                               ) from error
    if created.tzinfo is None:
        raise InterchangeError("CreationDateTime must carry a time zone (for example Z).")
    return created


def _element_to_spec(root: ET.Element) -> LabelSpec:
    if root.tag not in {_q(name) for name in ROOTS}:
        raise InterchangeError(f"Expected a STANAG 4774 ConfidentialityLabel in namespace {SLAB}, "
                               f"found {root.tag}.")
    infos = root.findall(_q("ConfidentialityInformation"))
    if len(infos) != 1:
        raise InterchangeError("The label must have exactly one ConfidentialityInformation.")
    info = infos[0]
    originator = _text(info, "PolicyIdentifier")
    classification = _text(info, "Classification")
    values: dict[str, list[str]] = {tag: [] for tag in _CATEGORIES}
    for category in info.findall(_q("Category")):
        tag, kind = category.get("TagName", ""), category.get("Type", "")
        if kind not in {"PERMISSIVE", "RESTRICTIVE", "INFORMATIVE"}:
            raise InterchangeError(f"Category '{tag}' has an unknown Type '{kind}'.")
        if tag not in _CATEGORIES:
            if kind == "INFORMATIVE":
                continue  # informs, never controls access: safe to leave out
            raise InterchangeError(f"Unknown {kind.lower()} category '{tag}': it cannot be "
                                   "enforced here, so the label is refused.")
        if kind != _CATEGORIES[tag]:
            raise InterchangeError(f"Category '{tag}' must be {_CATEGORIES[tag]}, not {kind}.")
        for child in category:
            if child.tag != _q("GenericValue"):
                raise InterchangeError(f"Category '{tag}' holds a value that is not a "
                                       "GenericValue.")
            value = (child.text or "").strip()
            if not value:
                raise InterchangeError(f"Category '{tag}' has an empty value.")
            if value not in values[tag]:
                values[tag].append(value)
    created = _created(_text(root, "CreationDateTime"))
    spec = LabelSpec(originator, classification, tuple(values[RELEASABLE_TO]),
                     tuple(values[CAVEAT]), tuple(values[COMMUNITY]))
    try:
        # The day the marking was applied: a retired marking stays valid on an older label.
        validate(spec, applied_on=created.date())
    except LabelError as error:
        raise InterchangeError(f"The label is not valid here: {error}") from error
    return spec


def xml_to_spec(xml: bytes) -> LabelSpec:
    """The LabelSpec of STANAG 4774 XML, validated against our reference data."""
    return _element_to_spec(_parse(xml, "label XML"))


# --------------------------------------------------------------------------- 4778-style binding


def _canonical(element: ET.Element) -> bytes:
    """C14N 2.0 of one element, prefixes rewritten and surrounding whitespace stripped: the same
    bytes however the label was indented or which prefix it was written with."""
    alone = copy.deepcopy(element)
    alone.tail = None
    return ET.canonicalize(ET.tostring(alone, encoding="unicode"), rewrite_prefixes=True,
                           strip_text=True).encode()


def _message(payload_sha256: str, label: ET.Element) -> bytes:
    return _SIGNED_PREFIX + payload_sha256.encode() + b"\n" + _canonical(label)


def _digest(payload_sha256: str) -> str:
    value = (payload_sha256 or "").strip().lower()
    if not _HEX64.match(value):
        raise InterchangeError("The payload reference must be a SHA-256 in hexadecimal "
                               "(64 characters).")
    return value


def bind(payload_sha256: str, label_xml: bytes) -> bytes:
    """A signed ``BindingInformation`` record tying ``label_xml`` to the payload's SHA-256.

    The label is checked (``xml_to_spec``) before it is signed: this node never signs a label it
    would itself refuse."""
    digest = _digest(payload_sha256)
    label = _parse(label_xml, "label XML")
    _element_to_spec(label)
    ring = keyring()
    root = ET.Element(_q("BindingInformation", BINDING), {"Version": "1"})
    ET.SubElement(root, _q("Metadata", BINDING)).append(copy.deepcopy(label))
    ET.SubElement(root, _q("DataReference", BINDING), {"Algorithm": "SHA-256"}).text = digest
    signature = ring.sign(_message(digest, label))
    ET.SubElement(root, _q("Signature", BINDING), {
        "Algorithm": "Ed25519",
        "PublicKey": ring.signing_public_key().public_bytes_raw().hex(),
    }).text = base64.b64encode(signature).decode()
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def node_public_key() -> str:
    """This node's signing key (hex), to give to the partner who verifies our bindings."""
    return keyring().signing_public_key().public_bytes_raw().hex()


def _one(parent: ET.Element, name: str) -> ET.Element:
    found = parent.findall(_q(name, BINDING))
    if len(found) != 1:
        raise InterchangeError(f"The binding must have exactly one {name}.")
    return found[0]


def verify_binding(binding_xml: bytes, payload_sha256: str,
                   trusted_public_keys: set[str] | None = None) -> LabelSpec:
    """The label bound to the payload, once everything checks; InterchangeError otherwise.

    ``trusted_public_keys`` are the signers accepted (hex Ed25519 public keys, for example the
    partner node's). Without it only this node's own key is trusted: a signature by whatever key
    the record itself names would prove nothing about who bound the label."""
    digest = _digest(payload_sha256)
    root = _parse(binding_xml, "binding")
    if root.tag != _q("BindingInformation", BINDING):
        raise InterchangeError(f"Expected a BindingInformation in namespace {BINDING}, "
                               f"found {root.tag}.")
    metadata = list(_one(root, "Metadata"))
    if len(metadata) != 1:
        raise InterchangeError("The binding's Metadata must hold exactly one label.")
    label = metadata[0]
    reference = _one(root, "DataReference")
    if reference.get("Algorithm") != "SHA-256":
        raise InterchangeError("The binding's data reference must be a SHA-256.")
    if (reference.text or "").strip().lower() != digest:
        raise InterchangeError("The binding is for a different payload: its SHA-256 does not "
                               "match.")
    signature_element = _one(root, "Signature")
    if signature_element.get("Algorithm") != "Ed25519":
        raise InterchangeError("The binding's signature must be Ed25519.")
    public_hex = (signature_element.get("PublicKey") or "").strip().lower()
    trusted = {k.strip().lower() for k in trusted_public_keys} if trusted_public_keys is not None \
        else {node_public_key()}
    if public_hex not in trusted:
        raise InterchangeError("The binding is signed by an unknown key "
                               f"({public_hex[:16] or 'none'}…); it is not one we trust.")
    try:
        public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
        signature = base64.b64decode((signature_element.text or "").strip(), validate=True)
        public_key.verify(signature, _message(digest, label))
    except (InvalidSignature, ValueError) as error:
        raise InterchangeError("The binding's signature does not verify: the label or the "
                               "payload reference was changed, or it was not signed by that key."
                               ) from error
    return _element_to_spec(label)
