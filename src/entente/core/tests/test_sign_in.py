"""Signing in through the real form: password (argon2) + TOTP, lockout, idle timeout, sign-out.

Every test drives the real views and middleware with the Django test client (CSRF enforced) and
checks what a person would observe: where they land, what the page says, what the audit log holds.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, get_hasher
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from entente.security.models import AuditEvent
from entente.testing import PASSWORD, current_code, make_user, verified_client

pytestmark = pytest.mark.django_db

# The suite hashes passwords with a cheap Argon2 (conftest). The tests marked production_hasher
# below, whose subject is the password itself (how it is stored, a sign-in end to end, a wrong
# password against an unknown user), use the production hashers at full cost; lockout, sessions,
# redirects and sign-out do not depend on the hasher's cost.

WRONG = "Wrong username, password or authenticator code."
APP_LOCKOUT = "This account is locked after repeated failed sign-ins."


def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def post_sign_in(client: Client, username: str, password: str, code: str, next_: str = ""):
    """GET the form (for the CSRF cookie), then POST it as a browser would."""
    url = reverse("core:login") + (f"?next={next_}" if next_ else "")
    assert client.get(url).status_code == 200
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    return client.post(url, {"username": username, "password": password, "otp_token": code,
                             "csrfmiddlewaretoken": token})


def wrong_code(user) -> str:
    """Six digits that match none of the codes the device would accept right now."""
    device = TOTPDevice.objects.get(user=user)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    accepted = set()
    for drift in range(-device.tolerance - 1, device.tolerance + 2):
        totp.drift = drift
        accepted.add(f"{totp.token():06d}")
    return next(c for c in (f"{d}" * 6 for d in range(10)) if c not in accepted)


def signed_in(client: Client) -> bool:
    """True if the client's session passes the verified-user gate on the home page."""
    return client.get(reverse("core:home")).status_code == 200


def events(action: str, **filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("seq"))


@pytest.mark.production_hasher
def test_sign_in_with_password_and_totp_lands_on_home_verified():
    user = make_user("alice", "GBR", clearance="SECRET")
    client = csrf_client()
    response = post_sign_in(client, "alice", PASSWORD, current_code(user))
    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")

    # The session carries the OTP device: the gate lets the user through.
    assert client.session[DEVICE_ID_SESSION_KEY] == TOTPDevice.objects.get(user=user).persistent_id
    home = client.get(response["Location"])
    assert home.status_code == 200
    html = home.content.decode()
    assert "Welcome, alice" in html
    assert "SECRET — granted by gbr-nsa" in html
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["clearances"][0]["level"] == "GBR/SECRET"
    assert me.json()["clearances"][0]["valid"] is True

    [login] = events("auth.login")
    assert (login.actor_id, login.actor, login.object_id, login.allowed) == (
        user.pk, "alice", str(user.pk), True)
    assert login.source == "127.0.0.1"


def test_right_password_wrong_code_is_refused_and_audited():
    user = make_user("alice", "GBR", clearance="SECRET")
    client = csrf_client()
    response = post_sign_in(client, "alice", PASSWORD, wrong_code(user))
    assert response.status_code == 400
    assert WRONG in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not signed_in(client)
    assert events("auth.login") == []
    [failed] = events("auth.failed")
    assert (failed.object_id, failed.allowed, failed.actor_id) == ("alice", False, None)


@pytest.mark.production_hasher
def test_wrong_password_and_unknown_user_read_the_same():
    make_user("alice", "GBR")
    wrong_password = post_sign_in(csrf_client(), "alice", "not the password at all",
                                  "123456")
    unknown = post_sign_in(csrf_client(), "nobody", PASSWORD, "123456")
    for response in (wrong_password, unknown):
        assert response.status_code == 400
        assert WRONG in response.content.decode()
    assert [e.object_id for e in events("auth.failed")] == ["alice", "nobody"]


def test_lockout_after_failure_limit_counts_passwords_and_codes():
    limit = settings.AXES_FAILURE_LIMIT
    assert limit >= 2
    alice = make_user("alice", "GBR", clearance="SECRET")
    bob = make_user("bob", "GBR", clearance="SECRET")
    client = csrf_client()
    for i in range(limit - 1):
        # Alternate: wrong password, then right password with a wrong authenticator code.
        password, code = (("wrong password!!", current_code(alice)) if i % 2 == 0
                          else (PASSWORD, wrong_code(alice)))
        response = post_sign_in(client, "alice", password, code)
        assert response.status_code == 400, f"attempt {i + 1} not refused as a plain failure"
        assert WRONG in response.content.decode()
    # The last allowed failure is a wrong code, so codes demonstrably count towards the limit.
    response = post_sign_in(client, "alice", PASSWORD, wrong_code(alice))
    assert response.status_code in (400, 403, 429)
    assert "locked" in response.content.decode().lower()
    assert not signed_in(client)

    # Now even the right password and the right code are refused.
    fresh = csrf_client()
    response = post_sign_in(fresh, "alice", PASSWORD, current_code(alice))
    assert response.status_code in (400, 403, 429)
    assert "locked" in response.content.decode().lower()
    assert WRONG not in response.content.decode()
    assert "_auth_user_id" not in fresh.session
    assert not signed_in(fresh)
    assert events("auth.login") == []
    locked = events("auth.locked", object_id="alice")
    assert locked and all(e.allowed is False for e in locked)

    # Lockout is per account: bob, from the same address, signs in normally.
    other = csrf_client()
    response = post_sign_in(other, "bob", PASSWORD, current_code(bob))
    assert response.status_code == 302
    assert signed_in(other)
    assert [e.actor for e in events("auth.login")] == ["bob"]


def test_fewer_failures_than_the_limit_do_not_lock():
    limit = settings.AXES_FAILURE_LIMIT
    alice = make_user("alice", "GBR")
    for _ in range(limit - 1):
        post_sign_in(csrf_client(), "alice", "wrong password!!", "000000")
    client = csrf_client()
    assert post_sign_in(client, "alice", PASSWORD, current_code(alice)).status_code == 302
    assert signed_in(client)
    assert events("auth.locked") == []


def test_locked_account_sees_the_apps_own_lockout_message():
    alice = make_user("alice", "GBR")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post_sign_in(csrf_client(), "alice", "wrong password!!", "000000")
    response = post_sign_in(csrf_client(), "alice", PASSWORD, current_code(alice))
    assert APP_LOCKOUT in response.content.decode()


def test_password_only_session_is_not_signed_in():
    user = make_user("alice", "GBR", clearance="SECRET")
    client = Client()
    client.force_login(user)  # password step only: no OTP device in the session
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('core:login')}?next=/"
    api = client.get("/api/v1/me")
    assert api.status_code == 401
    assert api["Content-Type"].startswith("application/json")
    assert api.json() == {"detail": "Sign in with password and TOTP first."}
    # The same user with the OTP step passed is let in: the gate is the OTP step, not the user.
    assert verified_client(user).get("/api/v1/me").status_code == 200


def test_anonymous_is_sent_to_sign_in():
    client = Client()
    assert client.get("/")["Location"] == f"{reverse('core:login')}?next=/"
    assert client.get("/api/v1/records").status_code == 401


def test_idle_timeout_settings():
    assert settings.SESSION_COOKIE_AGE == 900
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def _session_row(client: Client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_each_request_pushes_the_idle_deadline_forward():
    user = make_user("alice", "GBR")
    client = csrf_client()
    assert post_sign_in(client, "alice", PASSWORD, current_code(user)).status_code == 302
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() + dt.timedelta(seconds=30))
    assert signed_in(client)
    remaining = (Session.objects.get(session_key=key).expire_date - timezone.now()).total_seconds()
    assert settings.SESSION_COOKIE_AGE - 60 < remaining <= settings.SESSION_COOKIE_AGE


def test_session_past_its_expiry_is_signed_out():
    user = make_user("alice", "GBR")
    client = csrf_client()
    assert post_sign_in(client, "alice", PASSWORD, current_code(user)).status_code == 302
    assert signed_in(client)
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("core:login"))
    assert client.get("/api/v1/me").status_code == 401


def test_session_with_negative_expiry_is_signed_out():
    user = make_user("alice", "GBR")
    client = verified_client(user)
    assert signed_in(client)
    session = client.session
    session.set_expiry(-1)
    session.save()
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("target", [
    "https://evil.example/",
    "//evil.example/",
    "http://evil.example/records/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "https:evil.example",
])
def test_open_redirect_after_sign_in_is_refused(target):
    user = make_user("alice", "GBR")
    client = csrf_client()
    response = post_sign_in(client, "alice", PASSWORD, current_code(user), next_=target)
    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")
    assert signed_in(client)


def test_local_next_is_honoured():
    user = make_user("alice", "GBR")
    client = csrf_client()
    response = post_sign_in(client, "alice", PASSWORD, current_code(user), next_="/api/v1/me")
    assert response.status_code == 302
    assert response["Location"] == "/api/v1/me"


def test_sign_out_is_post_only_and_audited():
    user = make_user("alice", "GBR")
    client = csrf_client()
    assert post_sign_in(client, "alice", PASSWORD, current_code(user)).status_code == 302
    assert client.get(reverse("core:logout")).status_code == 405
    assert signed_in(client)
    assert events("auth.logout") == []

    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(reverse("core:logout"), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response["Location"] == reverse("core:login")
    assert not signed_in(client)
    assert client.get("/api/v1/me").status_code == 401
    [logout] = events("auth.logout")
    assert (logout.actor_id, logout.object_id, logout.allowed) == (user.pk, str(user.pk), True)


def test_sign_out_without_csrf_token_is_refused():
    user = make_user("alice", "GBR")
    client = csrf_client()
    assert post_sign_in(client, "alice", PASSWORD, current_code(user)).status_code == 302
    assert client.post(reverse("core:logout")).status_code == 403
    assert signed_in(client)
    assert events("auth.logout") == []


@pytest.mark.production_hasher
def test_passwords_are_hashed_with_argon2():
    user = make_user("alice", "GBR")
    user.refresh_from_db()
    assert user.password.startswith("argon2")
    assert type(get_hasher()) is Argon2PasswordHasher  # the production one, at its full cost
    assert not get_hasher().must_update(user.password)
    assert PASSWORD not in user.password
    assert user.check_password(PASSWORD)
