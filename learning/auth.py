"""Log-in throttling with django-axes, for the site's log-in page and the admin's alike.

Failures are counted per user name and address (five, then that pair waits out
the cool-off), and per address alone with a much higher ceiling, so that a
campus NAT, one address for a whole class, never locks the class out while
spraying many user names from one address stays slow. axes applies one limit
to every lockout parameter; the handler below scales the per-address count so
that its own ceiling applies.
"""

from __future__ import annotations

import math

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off, get_lockout_parameters
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest
from django.shortcuts import render

ADDRESS_ONLY = "ip_address"


class AddressCeilingHandler(AxesDatabaseHandler):
    """axes' database handler, with LOGIN_THROTTLE_ADDRESS_ATTEMPTS for the address alone."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        pair_limit = settings.AXES_FAILURE_LIMIT
        ratio = pair_limit / settings.LOGIN_THROTTLE_ADDRESS_ATTEMPTS
        counts = []
        parameters = get_lockout_parameters(request, credentials)
        attempts_list = self.get_user_attempts(request, credentials)
        for parameter, attempts in zip(parameters, attempts_list, strict=True):
            failures = sum(attempts.values_list("failures_since_start", flat=True))
            # In units of the pair's limit: the address reaches it at its own ceiling.
            counts.append(math.floor(failures * ratio) if parameter == ADDRESS_ONLY else failures)
        return max(counts, default=0)


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """The log-in form again, saying how long to wait, as 429 with Retry-After."""
    wait = get_cool_off(request)
    seconds = math.ceil(wait.total_seconds()) if wait else settings.LOGIN_THROTTLE_WINDOW
    form = AuthenticationForm(request, initial={"username": request.POST.get("username", "")})
    response = render(
        request,
        "registration/login.html",
        {
            "form": form,
            "throttled": (
                f"Too many failed log-ins. Try again in {max(1, math.ceil(seconds / 60))} "
                "minute(s)."
            ),
        },
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        # Instructors land on their classes, students on their modules.
        from learning.views import home_url

        return home_url(self.request.user)
