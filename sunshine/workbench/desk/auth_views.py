"""Staff sign-in and sign-out (django-axes counts the failures and locks out after five), with
the optional second step: the 6-digit code of an authenticator app (sunshine/accounts/totp.py),
and the page where staff turn it on."""

from __future__ import annotations

import time
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from sunshine.accounts import totp
from sunshine.accounts.models import User
from sunshine.workbench.desk.guards import staff_page

# How long the password step stays good while the code is asked for.
PENDING_SECONDS = 300
PENDING = "totp_pending"
SECURITY_URL = "/workbench/security/"


class StaffAuthenticationForm(AuthenticationForm):
    username = forms.CharField(
        label=gettext_lazy("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=gettext_lazy("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    error_messages = {
        "invalid_login": gettext_lazy("Wrong username or password. Both are case-sensitive."),
        "inactive": gettext_lazy("This account is disabled. Ask an administrator."),
    }


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("6-digit code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}
        ),
        error_messages={"required": gettext_lazy("Enter the 6-digit code your authenticator app shows.")},
    )


def _safe_next(request: HttpRequest, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(value, {request.get_host()}, request.is_secure()):
        return value
    return str(settings.LOGIN_REDIRECT_URL)


class StaffLoginView(LoginView):
    template_name = "workbench_desk/login.html"
    authentication_form = StaffAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user: User = form.get_user()
        if totp.needs_code(user):
            # The password was right; the session is not signed in until the code is.
            self.request.session[PENDING] = {
                "user": user.pk,
                "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[-1]),
                "at": time.time(),
                "next": self.get_success_url(),
            }
            return HttpResponseRedirect("/accounts/login/code/")
        response = super().form_valid(form)
        if totp.must_enrol(user):
            return HttpResponseRedirect(SECURITY_URL)
        return response


def _pending_user(request: HttpRequest) -> tuple[User, dict[str, Any]] | None:
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None
    user = User.objects.filter(pk=int(pending.get("user") or 0), is_active=True).first()
    return (user, pending) if user is not None else None


@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step: the current code of the authenticator app the user enrolled."""
    found = _pending_user(request)
    if found is None:
        messages.info(request, _("Sign in with your password first."))
        return redirect("/accounts/login/")
    user, pending = found
    credentials = {"username": user.get_username()}
    if not AxesProxyHandler.is_allowed(request, credentials):
        request.session.pop(PENDING, None)
        return get_lockout_response(request, None, credentials)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if totp.verify(user, form.cleaned_data["code"]):
            request.session.pop(PENDING, None)
            auth_login(request, user, backend=pending["backend"])  # audited by django-axes (AccessLog)
            return HttpResponseRedirect(_safe_next(request, pending.get("next")))
        # Counted with the wrong passwords: django-axes locks out after five (the middleware then
        # answers with the lockout page instead of this one).
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if getattr(request, "axes_locked_out", False):
            request.session.pop(PENDING, None)
        form.add_error("code", _("Wrong code. Enter the 6 digits your authenticator app shows now."))
    return render(request, "workbench_desk/login_code.html", {"form": form}, status=200)


def admin_login(request: HttpRequest) -> HttpResponse:
    """/admin/login/: the admin's own sign-in form would skip the two-step code, so people are
    sent to the staff sign-in (which comes back to ``next``); a signed-in member of staff who is
    not an administrator gets the 403 page (sending them to sign in would loop)."""
    if request.user.is_authenticated:
        from sunshine.workbench.desk.guards import forbidden

        return forbidden(request)
    query = request.META.get("QUERY_STRING", "")
    return HttpResponseRedirect("/accounts/login/" + (f"?{query}" if query else ""))


class StaffLogoutView(LogoutView):
    http_method_names = ["post", "options"]


@staff_page()
@require_http_methods(["GET", "POST"])
def security(request: HttpRequest) -> HttpResponse:
    """Turn the authenticator app on (scan, then confirm with a code) or off."""
    user: User = request.user  # type: ignore[assignment]
    form = CodeForm(request.POST or None)
    enrolled = totp.is_enrolled(user)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        action = request.POST.get("action")
        if action == "confirm" and not enrolled:
            if totp.confirm(user, code):
                messages.success(request, _("Two-step sign-in is on. Sign-in will ask for a code from now on."))
                return redirect(SECURITY_URL)
            form.add_error("code", _("Wrong code. Enter the 6 digits your authenticator app shows now."))
        elif action == "off" and enrolled and not totp.required_for(user):
            if totp.verify(user, code):
                totp.turn_off(user)
                messages.success(request, _("Two-step sign-in is off."))
                return redirect(SECURITY_URL)
            form.add_error("code", _("Wrong code. Enter the 6 digits your authenticator app shows now."))
        else:
            form.add_error(None, _("This action is not available."))
    ctx: dict[str, Any] = {"form": form, "enrolled": enrolled, "required": totp.required_for(user)}
    if not enrolled:
        device = totp.start_enrolment(user)
        ctx.update(uri=device.config_url, secret=totp.secret_text(device), qr=totp.qr_svg(device.config_url))
    return render(request, "workbench_desk/security.html", ctx)
