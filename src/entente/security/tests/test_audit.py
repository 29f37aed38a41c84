"""The audit chain: append-only in the database, and any tampering is found by verify."""

from __future__ import annotations

import io
import itertools

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from entente.security import audit
from entente.security.models import AuditCheckpoint, AuditEvent

pytestmark = pytest.mark.django_db


def _events(n: int) -> list[AuditEvent]:
    with audit.source("test"):
        return [audit.record("test.event", object_type="thing", object_id=str(i),
                             allowed=bool(i % 2), reason=f"reason {i}", detail={"i": i, "ja": "監査"})
                for i in range(n)]


def _as_attacker(sql: str, params: list | None = None) -> None:
    """Run SQL with the append-only triggers out of the way, as a DBA-level attacker could.
    The test's transaction rolls the trigger change back afterwards."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for table in ("security_auditevent", "security_auditcheckpoint"):
                cursor.execute(f"DROP TRIGGER {table}_no_update")
                cursor.execute(f"DROP TRIGGER {table}_no_delete")
        else:
            cursor.execute("ALTER TABLE security_auditevent DISABLE TRIGGER USER")
            cursor.execute("ALTER TABLE security_auditcheckpoint DISABLE TRIGGER USER")
        cursor.execute(sql, params or [])


def test_chain_links_every_event_to_its_predecessor():
    events = _events(5)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    result = audit.verify()
    assert result.ok and result.count == 5


@pytest.mark.parametrize("statement", [
    "UPDATE security_auditevent SET reason = 'nothing to see' WHERE seq = 2",
    "DELETE FROM security_auditevent WHERE seq = 2",
    "DELETE FROM security_auditevent",
    "UPDATE security_auditcheckpoint SET hash = 'x'",
    "DELETE FROM security_auditcheckpoint",
])
def test_database_refuses_update_and_delete(statement):
    _events(3)
    audit.checkpoint()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEvent.objects.get(seq=2).reason == "reason 1"
    assert AuditEvent.objects.count() == 3 and AuditCheckpoint.objects.count() == 1


def test_orm_cannot_change_an_event_either():
    event = _events(1)[0]
    event.reason = "rewritten"
    with pytest.raises(DatabaseError), transaction.atomic():
        event.save()


def test_edited_row_is_found():
    _events(6)
    _as_attacker("UPDATE security_auditevent SET allowed = %s WHERE seq = 4", [False])
    result = audit.verify()
    assert not result.ok and result.broken_at == 4
    assert "does not match its hash" in result.problem


def test_edited_row_with_recomputed_hash_breaks_the_next_link():
    _events(6)
    row = AuditEvent.objects.filter(seq=3).values().get()
    row["reason"] = "forged"
    forged = audit._digest(row["prev_hash"], audit._fields(row))
    _as_attacker("UPDATE security_auditevent SET reason = 'forged', hash = %s WHERE seq = 3",
                 [forged])
    result = audit.verify()
    assert not result.ok and result.broken_at == 4
    assert "link to the previous event" in result.problem


def test_deleted_row_is_found():
    _events(6)
    _as_attacker("DELETE FROM security_auditevent WHERE seq = 5")
    result = audit.verify()
    assert not result.ok and result.broken_at == 5 and "missing" in result.problem


def test_truncated_tail_is_found_through_the_signed_checkpoint():
    _events(6)
    point = audit.checkpoint()
    assert point is not None and point.seq == 6
    _as_attacker("DELETE FROM security_auditevent WHERE seq >= 5")
    result = audit.verify()
    assert not result.ok and "removed from the end" in result.problem


def test_forged_checkpoint_signature_is_found():
    _events(3)
    audit.checkpoint()
    _as_attacker("UPDATE security_auditcheckpoint SET signature = %s", [b"\0" * 64])
    result = audit.verify()
    assert not result.ok and "signature" in result.problem


def test_checkpoints_are_written_every_n_events(settings):
    settings.AUDIT_CHECKPOINT_EVERY = 4
    _events(9)
    assert list(AuditCheckpoint.objects.values_list("seq", flat=True)) == [4, 8]
    assert audit.verify().checkpoints == 2


def test_event_records_who_what_and_from_where():
    with audit.source("203.0.113.9"):
        event = audit.record("access.view", object_type="x", object_id="1", allowed=False,
                             reason="because")
    stored = AuditEvent.objects.get(seq=event.seq)
    assert (stored.source, stored.allowed, stored.reason) == ("203.0.113.9", False, "because")


def test_cli_verify_reports_ok_and_broken():
    _events(3)
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert out.getvalue().startswith("OK: 3 events")
    _as_attacker("DELETE FROM security_auditevent WHERE seq = 2")
    with pytest.raises(CommandError, match="BROKEN at event 2"):
        call_command("audit", "verify", stdout=io.StringIO())


@pytest.mark.skipif(connection.vendor != "postgresql" and not connection.settings_dict.get(
    "TEST", {}).get("NAME"), reason="parallel verify needs a database other processes can reach")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("damage", [None, "edit", "delete"])
def test_parallel_verify_agrees_with_the_sequential_walk(damage):
    _events(40)
    assert audit._parallel_ok(40, workers=3, parallel_min=10)
    if damage:
        statement = ("UPDATE security_auditevent SET reason = 'x' WHERE seq = 27"
                     if damage == "edit" else "DELETE FROM security_auditevent WHERE seq = 27")
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE security_auditevent DISABLE TRIGGER USER")
            try:
                cursor.execute(statement)
            finally:
                cursor.execute("ALTER TABLE security_auditevent ENABLE TRIGGER USER")
    parallel = audit.verify(workers=3, parallel_min=10)
    sequential = audit.verify(workers=1)
    assert parallel == sequential
    assert parallel.ok is (damage is None)
    if damage:
        assert parallel.broken_at == 27
        assert ("missing" if damage == "delete" else "does not match") in parallel.problem
    else:
        assert parallel.count == 40


def test_a_denial_inside_a_rolled_back_block_is_still_on_record():
    from entente.security import audit as audit_module

    class Refused(Exception):
        pass

    with pytest.raises(Refused), audit_module.atomic():
        audit_module.record("access.edit", object_type="t", object_id="1", allowed=False,
                            reason="no")
        audit_module.record("thing.change", object_type="t", object_id="1", allowed=True)
        raise Refused
    events = list(AuditEvent.objects.filter(object_type="t").values_list("action", "allowed"))
    # The allowed change rolled back with its work; the denial survived it, once.
    assert events == [("access.edit", False)]
    assert AuditEvent.objects.get(object_type="t").details == {"rolled_back": True}
    assert audit_module.verify().ok
