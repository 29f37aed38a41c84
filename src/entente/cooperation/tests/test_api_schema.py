"""The cooperation operations of the served OpenAPI document, checked property-based
(schemathesis) as in `entente.exchange.tests.test_api_schema`, but with cooperation data present:
signed in as a British project officer and as the Japanese co-chair, with a project they are
members of (participants, shares, milestones, guide, a document, a meeting with agenda, decisions,
actions and minutes) and one hidden from both, no generated request gets a server error, and
every answer has a status code and a body that the document declares.

Generated ids in paths and bodies are sometimes swapped for real ones (which the caller may or may
not see), so that the checks reach the success and the forbidden paths, not only "not found".
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from entente.api import api
from entente.cooperation import services
from entente.cooperation.models import DecisionKind
from entente.security.labels import LabelSpec
from entente.testing import verified_client
from entente.testing.shared import build_for_the_module
from entente.wsgi import application

MAX_EXAMPLES = 10
CHECKS = ("not_a_server_error", "status_code_conformance", "response_schema_conformance")
CONFIG = SchemathesisConfig.from_dict({
    "generation": {
        "mode": "positive",
        "deterministic": True,
        "max-examples": MAX_EXAMPLES,
        "database": "none",
        "with-security-parameters": False,
        "allow-x00": True,
    },
    "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
})
LABELS = ["GBR/OFFICIAL|rel=GBR,JPN", "GBR/SECRET|rel=GBR,JPN", "JPN/GOKUHI|rel=GBR,JPN",
          "GBR/TOP-SECRET|rel=GBR"]


@pytest.fixture
def in_process_requests():
    """Keep the test's transaction open across requests, as django.test.Client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _build_ids(world: Any) -> dict[str, Any]:
    """Real ids of every kind the cooperation operations take, visible and hidden."""
    today = timezone.localdate()
    officer, project = world.uk_officer, world.project
    entry = services.add_guide_entry(actor=officer, project=project, is_default=True,
                                     label=LabelSpec.parse("GBR/SECRET|rel=GBR,JPN"),
                                     topic_en="Seeker data")
    services.add_participant(actor=officer, project=project, organisation=world.cleared_company,
                             role="prime")
    services.set_cost_shares(actor=officer, project=project, shares={"GBR": "50", "JPN": "50"})
    milestone = services.add_milestone(actor=officer, project=project, title_en="Kick-off",
                                       due_on=today)
    services.set_security_instruction(actor=officer, project=project, text_en="Both apply.")
    services.create_project_document(actor=officer, project=project, title_en="Trade study",
                                     body="Seekers")
    hidden = services.propose_project(actor=world.uk_admin, code="hidden", lead_nation="GBR",
                                      label=LabelSpec.parse("GBR/SECRET|rel=GBR"),
                                      name_en="UK only")
    hidden_milestone = services.add_milestone(actor=world.uk_admin, project=hidden,
                                              title_en="Hidden", due_on=today)
    meeting = services.schedule_meeting(actor=world.secretary, held_on=today, place="London",
                                        label=LabelSpec.parse("GBR/OFFICIAL|rel=GBR,JPN"))
    uk_meeting = services.schedule_meeting(actor=world.secretary, held_on=today,
                                           place="London", label=LabelSpec.parse(
                                               "GBR/SECRET|rel=GBR"))
    item = services.add_agenda_item(actor=world.secretary, meeting=meeting, project=project)
    general = services.add_agenda_item(actor=world.secretary, meeting=meeting,
                                       title_en="Any other business")
    hidden_item = services.add_agenda_item(actor=world.secretary, meeting=uk_meeting,
                                           project=hidden)
    services.record_decision(actor=world.uk_chair, item=item, kind=DecisionKind.APPROVE_PROJECT)
    action = services.add_action(actor=world.secretary, meeting=meeting, project=project,
                                 title="Plan", owner=officer,
                                 due_on=today - dt.timedelta(days=1))
    services.write_minutes(actor=world.secretary, meeting=meeting, text_en="Approved.")
    return {
        "users": {"GBR": officer, "JPN": world.jp_chair},
        "project_id": ["aam", str(project.pk), "hidden", str(hidden.pk)],
        "project": ["aam", "hidden"],
        "milestone_id": [str(milestone.pk), str(hidden_milestone.pk)],
        "meeting_id": [str(meeting.pk), str(uk_meeting.pk)],
        "item_id": [str(item.pk), str(general.pk), str(hidden_item.pk)],
        "action_id": [str(action.pk)],
        "organisation": ["albion", "thames", "jpn-mod"],
        "username": ["jp-po", "outsider", "uk-chair"],
        "owner": ["uk-po", "jp-po"],
        "guide_entry": [entry.pk],
        "label": LABELS,
    }


@pytest.fixture(scope="module")
def _module_ids(request, _module_world, django_db_blocker):
    """Built once for the module (entente.testing.shared) on the module's world: every
    operation, for each nation, starts from these rows; each test rolls back what it wrote."""
    yield from build_for_the_module(request, django_db_blocker,
                                    lambda: _build_ids(_module_world))


@pytest.fixture
def ids(_module_ids, db) -> dict[str, Any]:
    return copy.deepcopy(_module_ids)


@pytest.fixture(params=["GBR", "JPN"])
def caller(request, ids, in_process_requests) -> dict[str, Any]:
    client = verified_client(ids["users"][request.param])
    csrf = get_random_string(32)
    return {"cookies": {django_settings.SESSION_COOKIE_NAME: client.session.session_key,
                        django_settings.CSRF_COOKIE_NAME: csrf},
            "headers": {"X-CSRFToken": csrf}}


OPENAPI = json.loads(json.dumps(api.get_openapi_schema(), cls=DjangoJSONEncoder))
schema = schemathesis.openapi.from_dict(copy.deepcopy(OPENAPI), config=CONFIG).include(
    tag="cooperation")
schema.app = application
schemathesis.openapi.format("uuid4", st.uuids(version=4).map(str))


def _swap_in_real_ids(case: Any, picks: list[int], ids: dict[str, Any]) -> None:
    for pick, name in zip(picks, sorted(case.path_parameters or {}), strict=False):
        known = ids.get(name, [])
        if pick < len(known):
            case.path_parameters[name] = known[pick]
    if isinstance(case.body, dict):
        for pick, name in zip(picks[1:], sorted(set(case.body) & set(ids) - {"users"}),
                              strict=False):
            known = ids[name]
            if pick < len(known):
                case.body[name] = known[pick]


def test_the_cooperation_operations_are_in_the_contract():
    paths = [p for p, operations in OPENAPI["paths"].items()
             if any("cooperation" in o.get("tags", []) for o in operations.values())]
    assert len(paths) >= 25
    assert "/api/v1/projects/{project_id}/cost-shares" in paths


@schema.parametrize()
@schema.given(picks=st.lists(st.integers(0, 5), min_size=4, max_size=4))
@hypothesis_settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_every_cooperation_operation_answers_as_its_schema_declares(case, picks, caller, ids):
    _swap_in_real_ids(case, picks, ids)
    response = case.call(headers=caller["headers"], cookies=caller["cookies"])
    case.validate_response(response)
