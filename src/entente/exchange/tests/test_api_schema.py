"""The served OpenAPI document is a contract, checked property-based (schemathesis) on every
operation (those of an app with a contract test of its own, cooperation, by that test): signed
in as a British and as a Japanese user, with a small world of documents, transmissions, requests
and a loss report present, no generated request gets a server error, and every answer has a
status code and a body that the document declares.

Requests go in-process to the WSGI application (no server), carrying a TOTP-verified session
cookie and a CSRF token as a browser would. Generated path ids are sometimes swapped for ids of
real rows (which the caller may or may not see), so the checks reach the success and the
forbidden paths, not only "not found". Examples are few and derandomized: both CI databases run
the same cases.
"""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from entente.api import api
from entente.core.models import Role
from entente.exchange import selectors, services
from entente.exchange.models import Notification, Transmission
from entente.exchange.services import IncomingFile
from entente.security.labels import LabelSpec
from entente.testing import authority, make_user, organisation, verified_client
from entente.testing.shared import build_for_the_module
from entente.wsgi import application

MAX_EXAMPLES = 10
CHECKS = ("not_a_server_error", "status_code_conformance", "response_schema_conformance")
CONFIG = SchemathesisConfig.from_dict({
    "generation": {
        # Inputs the schema allows: what the API must answer as declared. (Inputs it forbids are
        # answered by django-ninja's own validation, which the document does not describe.)
        "mode": "positive",
        "deterministic": True,
        "max-examples": MAX_EXAMPLES,
        "database": "none",
        # The session cookie is ours to send; generated ones would only sign the caller out.
        "with-security-parameters": False,
        # NUL characters included: core.middleware.RejectNulMiddleware answers them (PostgreSQL
        # cannot store or compare them in text).
        "allow-x00": True,
    },
    "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
})


@pytest.fixture
def in_process_requests():
    """Keep the test's transaction open across requests, as django.test.Client does: the WSGI
    handler would otherwise close "old" connections when each request starts and finishes."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _doc(actor: Any, label: str, title: str, files: int = 0) -> Any:
    return services.create_document(
        actor=actor, label=LabelSpec.parse(label), title_en=title, summary_en="summary",
        body=f"{title} body",
        files=[IncomingFile(f"f{i}.bin", "application/octet-stream", io.BytesIO(b"x" * 700))
               for i in range(files)])


def _build_world():
    """Two nations' users and a handful of records of every kind the API serves."""
    ben = make_user("ben", "GBR", clearance="SECRET")
    alice = make_user("alice", "GBR", org=authority("GBR"), clearance="TOP-SECRET",
                      roles=[Role.SECURITY_OFFICER])
    kenji = make_user("kenji", "JPN", org=organisation("jpn-atla", "JPN"), clearance="GOKUHI")
    haruka = make_user("haruka", "JPN", org=authority("JPN"), clearance="KIMITSU",
                       roles=[Role.SECURITY_OFFICER])
    shared = _doc(ben, "GBR/SECRET|rel=GBR,JPN", "Seeker trials", files=2)
    uk_only = _doc(ben, "GBR/SECRET|rel=GBR", "UK eyes")
    top = _doc(alice, "GBR/TOP-SECRET|rel=GBR,JPN", "Above ben")
    japanese = _doc(kenji, "JPN/GOKUHI|rel=GBR,JPN", "推進系の検討", files=1)
    jpn_only = _doc(kenji, "JPN/HI|rel=JPN", "日本のみ")
    services.add_version(actor=ben, document=shared, body="v2", note="second")
    sent = services.transmit(actor=ben, documents=[shared], recipient=kenji.organisation)
    back = services.transmit(actor=kenji, documents=[japanese], recipient=ben.organisation)
    services.acknowledge(actor=ben, transmission=back)
    release = services.request_release(actor=ben, document=uk_only, to_nation="JPN",
                                       reason="joint work")
    downgrade = services.request_downgrade(actor=kenji, document=japanese, to_marking="HI",
                                           reason="wider use")
    loss = services.report_loss(actor=kenji, documents=[japanese], description="misfiled")
    documents = [shared, uk_only, top, japanese, jpn_only]
    return {
        "users": {"GBR": ben, "JPN": haruka},
        "document_id": [str(d.pk) for d in documents],
        "attachment_id": [str(a.pk) for d in documents for v in d.versions.all()
                          for a in v.attachments.all()],
        "transmission_id": [str(t.pk) for t in Transmission.objects.all()],
        "request_id": [str(release.pk), str(downgrade.pk)],
        "kind": ["release", "downgrade"],
        "report_id": [str(loss.pk)],
        "number": [1, 2],
        "notification_id": list(Notification.objects.values_list("pk", flat=True)),
        "_sent": sent,
    }


@pytest.fixture(scope="module")
def _module_world(request, django_db_setup, django_db_blocker):
    """Built once for the module (entente.testing.shared): every operation, for each nation,
    starts from these rows; each test rolls back what its requests wrote."""
    yield from build_for_the_module(request, django_db_blocker, _build_world)


@pytest.fixture
def world(_module_world, db) -> dict[str, Any]:
    return copy.deepcopy(_module_world)


@pytest.fixture(params=["GBR", "JPN"])
def caller(request, world, in_process_requests) -> dict[str, Any]:
    """What a browser signed in (password and TOTP) as the nation's user sends: the session
    cookie, and a CSRF cookie with its token repeated in a header."""
    client = verified_client(world["users"][request.param])
    csrf = get_random_string(32)
    return {"client": client,
            "cookies": {django_settings.SESSION_COOKIE_NAME: client.session.session_key,
                        django_settings.CSRF_COOKIE_NAME: csrf},
            "headers": {"X-CSRFToken": csrf}}


# The document the API serves at /api/v1/openapi.json (the first test checks it is byte for byte
# what was served), built here so that every operation is a test of its own. It cannot be fetched
# at collection time: it is served behind the TOTP sign-in like every API path, and
# schemathesis.pytest.from_fixture (fetch in a fixture) fails on pytest 9.2 (it sets
# `Function._nodeid`, which pytest 9.2 no longer has).
OPENAPI = json.loads(json.dumps(api.get_openapi_schema(), cls=DjangoJSONEncoder))
# Operations of an app with a contract test of its own (same checks, same number of examples, and
# that app's rows for the generated ids to reach) are checked there rather than twice: here they
# would only meet a world without any of their rows.
CHECKED_BY_THEIR_OWN_APP = ["cooperation"]
schema = schemathesis.openapi.from_dict(copy.deepcopy(OPENAPI), config=CONFIG).exclude(
    tag=CHECKED_BY_THEIR_OWN_APP)
schema.app = application  # cases are called in-process, as schemathesis.openapi.from_wsgi does
# pydantic's UUID4 is published as the non-standard format "uuid4": generate real ones, or every
# id in a body would be rejected by validation before the view runs.
schemathesis.openapi.format("uuid4", st.uuids(version=4).map(str))

def test_the_contract_is_the_document_the_api_serves(world, caller):
    served = caller["client"].get("/api/v1/openapi.json")
    assert served.status_code == 200
    assert served.json() == OPENAPI
    assert len(OPENAPI["paths"]) >= 20


def test_the_operations_left_to_their_own_app_are_checked_there_as_here():
    from entente.cooperation.tests import test_api_schema as cooperation

    assert CHECKED_BY_THEIR_OWN_APP == ["cooperation"]
    assert (cooperation.CHECKS, cooperation.MAX_EXAMPLES) == (CHECKS, MAX_EXAMPLES)
    left_out = {(path, method) for path, operations in OPENAPI["paths"].items()
                for method, operation in operations.items()
                if "cooperation" in operation.get("tags", [])}
    there = {(op.path, op.method) for op in (result.ok() for result in
                                             cooperation.schema.get_all_operations())}
    here = {(op.path, op.method) for op in (result.ok() for result in
                                            schema.get_all_operations())}
    assert left_out and there == left_out and not here & left_out


def _swap_in_real_ids(case: Any, picks: list[int], world: dict[str, Any]) -> None:
    for pick, name in zip(picks, sorted(case.path_parameters or {}), strict=False):
        known = world.get(name, [])
        if pick < len(known):
            case.path_parameters[name] = known[pick]
    if isinstance(case.body, dict) and isinstance(case.body.get("documents"), list) \
            and picks[-1] < len(world["document_id"]):
        case.body["documents"] = [world["document_id"][picks[-1]]]


@schema.parametrize()
@schema.given(picks=st.lists(st.integers(0, 7), min_size=4, max_size=4))
@hypothesis_settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_every_operation_answers_as_its_schema_declares(case, picks, caller, world):
    _swap_in_real_ids(case, picks, world)
    response = case.call(headers=caller["headers"], cookies=caller["cookies"])
    case.validate_response(response)


def test_the_world_is_what_the_contract_test_relies_on(world):
    """Guards the fixture: visible and forbidden records of every kind really exist."""
    ben, haruka = world["users"]["GBR"], world["users"]["JPN"]
    assert len(world["attachment_id"]) == 5  # shared: 2 in v1, carried to v2; Japanese: 1
    assert {d.title for d in selectors.visible_documents(ben)} == {
        "Seeker trials", "UK eyes", "推進系の検討"}
    assert "日本のみ" in {d.title for d in selectors.visible_documents(haruka)}
    assert world["notification_id"] and world["_sent"].items.count() == 1
