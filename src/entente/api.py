"""The typed JSON API. OpenAPI document at /api/v1/openapi.json, browsable at /api/v1/docs.

Authentication is the same password+TOTP session as the pages (the middleware refuses anything
else before a view runs); every read goes through the kernel exactly as the pages do.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError
from ninja.security import SessionAuth

from entente.cooperation.api import router as cooperation_router
from entente.core.middleware import is_verified
from entente.core.selectors import profile_of
from entente.exchange.api import router as exchange_router
from entente.exercises.api import router as exercises_router
from entente.federation.api import router as federation_router
from entente.industry.api import router as industry_router
from entente.logistics.api import router as logistics_router
from entente.security.api import router as security_router


class VerifiedSession(SessionAuth):
    """Session cookie of a user who passed the TOTP step."""

    def authenticate(self, request: HttpRequest, key: str | None) -> object | None:
        return request.user if is_verified(request.user) else None


api = NinjaAPI(title="Entente API", version="1", urls_namespace="api", auth=VerifiedSession(),
               description="Bilateral defence cooperation: every response has passed the "
                           "security kernel.")
api.add_router("/", security_router)
api.add_router("/", exchange_router)
api.add_router("/", cooperation_router)
api.add_router("/", industry_router)
api.add_router("/", logistics_router)
api.add_router("/", exercises_router)
api.add_router("/", federation_router)


@api.exception_handler(ValidationError)
def invalid_request(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """Request validation answers like every other 422 of this API: one readable sentence."""
    problems = "; ".join(f"{'.'.join(str(p) for p in error.get('loc', ()))}: {error.get('msg')}"
                         for error in exc.errors)
    return api.create_response(request, {"detail": problems or "Invalid request."}, status=422)


@api.exception_handler(RawPostDataException)
def form_sent_to_json_endpoint(request: HttpRequest, exc: RawPostDataException) -> HttpResponse:
    """A form (multipart) sent where a JSON body is expected: the NUL check has already read the
    form, so the body cannot be read again as JSON. Say what to send instead of failing."""
    return api.create_response(
        request, {"detail": "This operation takes a JSON body (Content-Type: application/json)."},
        status=415)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


@api.get("/me", tags=["people"], summary="Who am I, as the kernel sees me")
def me(request: HttpRequest) -> dict[str, object]:
    profile = profile_of(request.user)  # type: ignore[arg-type]
    return {
        "username": profile.user.username,
        "nationality": profile.user.nationality_id,
        "organisation": profile.user.organisation.code if profile.user.organisation else None,
        "roles": profile.roles,
        "clearances": [{"level": c.level.key, "valid_until": c.valid_until.isoformat(),
                        "valid": valid} for c, valid in profile.clearances],
        "communities": [{"code": m.community.code, "valid_until": m.valid_until.isoformat(),
                         "valid": valid} for m, valid in profile.memberships],
    }
