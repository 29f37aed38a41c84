"""Signing in and out: password (argon2) + TOTP, with lockout counted by django-axes."""

from __future__ import annotations

from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from entente.core.models import User
from entente.security import audit

LOCKED_MESSAGE = gettext_lazy("This account is locked after repeated failed sign-ins. Try again in "
                              "an hour or ask your security officer to unlock it.")


class SignInError(Exception):
    pass


def sign_in(request: HttpRequest, username: str, password: str, token: str) -> User:
    user = authenticate(request, username=username, password=password)
    if getattr(request, "axes_locked_out", False):
        audit.record("auth.locked", object_type="user", object_id=username, allowed=False,
                     reason="account locked after repeated failures")
        raise SignInError(str(LOCKED_MESSAGE))
    device = None
    if user is not None:
        device = next((d for d in TOTPDevice.objects.devices_for_user(user, confirmed=True)
                       if d.verify_token(token)), None)
        if device is None:
            # A wrong second factor counts towards the lockout exactly like a wrong password.
            user_login_failed.send(sender=__name__, credentials={"username": username},
                                   request=request)
    if user is None or device is None:
        audit.record("auth.failed", object_type="user", object_id=username, allowed=False,
                     reason="wrong password or authenticator code")
        raise SignInError(_("Wrong username, password or authenticator code."))
    login(request, user)
    otp_login(request, device)
    audit.record("auth.login", actor=user, object_type="user", object_id=str(user.pk),
                 allowed=True)
    assert isinstance(user, User)
    return user


def sign_out(request: HttpRequest) -> None:
    if request.user.is_authenticated:
        audit.record("auth.logout", actor=request.user, object_type="user",
                     object_id=str(request.user.pk), allowed=True)
    logout(request)
