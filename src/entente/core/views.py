from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from entente.core.forms import SignInForm
from entente.core.selectors import profile_of
from entente.core.services import LOCKED_MESSAGE, SignInError, sign_in, sign_out
from entente.security.selectors import visible_records


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sign_in(request, form.cleaned_data["username"], form.cleaned_data["password"],
                    form.cleaned_data["otp_token"])
        except SignInError as exc:
            form.add_error(None, str(exc))
        else:
            target = request.GET.get("next", "")
            if not url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                   require_https=request.is_secure()):
                target = "core:home"
            return redirect(target)
    return render(request, "core/login.html", {"form": form}, status=400 if form.errors else 200)


def locked_out(request: HttpRequest, credentials: object = None, *args: object,
               **kwargs: object) -> HttpResponse:
    """What django-axes shows a locked account: the sign-in page with our own message."""
    form = SignInForm(request.POST or None)
    form.is_valid()
    form.add_error(None, str(LOCKED_MESSAGE))  # sign_in() has already audited the attempt
    return render(request, "core/login.html", {"form": form}, status=429)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    sign_out(request)
    return redirect("core:login")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    records = visible_records(request.user)
    return render(request, "core/home.html",
                  {"profile": profile_of(request.user), "records": records})  # type: ignore[arg-type]
