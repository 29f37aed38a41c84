"""Every page and API call needs a user who signed in with password *and* TOTP."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotFound,
    JsonResponse,
)
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


class RejectNulMiddleware:
    """Refuse text holding a NUL character before any view sees it.

    PostgreSQL cannot store or even compare NUL in text, so such input would end in a server
    error there (and behave differently on SQLite). A NUL in the path makes an id that cannot
    exist: not found, like any malformed id. In a query, form field or JSON body: a clear 422.
    Uploaded files are not text and are not inspected."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api = request.path.startswith("/api/")
        if "\x00" in request.path:
            return (JsonResponse({"detail": "Not found."}, status=404) if api
                    else HttpResponseNotFound())
        if self._nul_in_input(request):
            message = "Text must not contain NUL characters."
            return (JsonResponse({"detail": message}, status=422) if api
                    else HttpResponseBadRequest(message))
        return self.get_response(request)

    @staticmethod
    def _nul_in_input(request: HttpRequest) -> bool:
        if any("\x00" in key or "\x00" in value for key, values in request.GET.lists()
               for value in values):
            return True
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return False
        content_type = request.content_type or ""
        if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            return any("\x00" in key or "\x00" in value for key, values in request.POST.lists()
                       for value in values)
        if content_type == "application/json":
            return b"\\u0000" in request.body or b"\x00" in request.body
        return False


# Room for the form fields and multipart framing that travel with the files.
UPLOAD_SLACK_BYTES = 4 * 1024 * 1024


class UploadLimitMiddleware:
    """Refuse a request whose declared size is over the upload limit, before reading any of it.

    The upload handler also stops a file that grows past the limit (for a request that did not
    declare its size), but it can only cut the connection then; here the sender gets a clear
    413 instead, and nothing is stored either way. The limit is for a whole request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.template.defaultfilters import filesizeformat

        from entente.security.uploads import max_upload_bytes

        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        limit = max_upload_bytes()
        if declared > limit + UPLOAD_SLACK_BYTES:
            message = (f"This upload is {filesizeformat(declared)}; at most "
                       f"{filesizeformat(limit)} can be sent in one request.")
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
