"""Every page and API call needs a user who signed in with password *and* TOTP."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from entente.security import audit

OPEN_PREFIXES = ("/static/", "/i18n/")


class RequireVerifiedUserMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with audit.source(_client_address(request)):
            if self._allowed(request):
                return self.get_response(request)
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": "Sign in with password and TOTP first."},
                                    status=401)
            return redirect(f"{reverse(settings.LOGIN_URL)}?next={request.path}")

    @staticmethod
    def _allowed(request: HttpRequest) -> bool:
        if request.path.startswith(OPEN_PREFIXES) or request.path == reverse(settings.LOGIN_URL):
            return True
        return is_verified(getattr(request, "user", None))


def is_verified(user: object) -> bool:
    """Signed in with password *and* TOTP (django-otp's middleware adds ``is_verified``)."""
    verified = getattr(user, "is_verified", None)
    return bool(getattr(user, "is_authenticated", False) and verified and verified())


def _client_address(request: HttpRequest) -> str:
    # Behind a proxy, SECURE_PROXY_SSL_HEADER is set and the proxy is trusted to append the
    # client; otherwise the socket address is the only fact we have.
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()[:80]
    return str(request.META.get("REMOTE_ADDR", ""))[:80]
