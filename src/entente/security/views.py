from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from entente.security.labels import banner
from entente.security.selectors import NotFound, record_with_body


def record_detail(request: HttpRequest, record_id: str) -> HttpResponse:
    try:
        record, body = record_with_body(request.user, record_id)
    except NotFound:
        raise Http404 from None
    return render(request, "security/record_detail.html", {
        "record": record, "body": body,
        "banner": banner(record.label, request.user.nationality_id),  # type: ignore[union-attr]
    })
