"""Staff sign-in and sign-out (django-axes counts the failures and locks out after five)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, LogoutView
from django.utils.translation import gettext_lazy as _


class StaffAuthenticationForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    error_messages = {
        "invalid_login": _("Wrong username or password. Both are case-sensitive."),
        "inactive": _("This account is disabled. Ask an administrator."),
    }


class StaffLoginView(LoginView):
    template_name = "workbench_desk/login.html"
    authentication_form = StaffAuthenticationForm
    redirect_authenticated_user = True


class StaffLogoutView(LogoutView):
    http_method_names = ["post", "options"]
