"""Log-in throttling, for the site's log-in page and the admin's alike.

The backend refuses to check a password once a user name has failed too often
from one address; the form says why; the view answers 429 then.
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest

from learning.services import accounts


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request: HttpRequest | None, username=None, password=None, **kwargs):
        if request is None or not username:
            return super().authenticate(request, username, password, **kwargs)
        address = accounts.client_address(request)
        wait = accounts.login_retry_after(username=username, address=address)
        if wait:
            request.login_retry_after = wait
            raise PermissionDenied  # no password is checked, and no other backend tries
        user = super().authenticate(request, username, password, **kwargs)
        if user is None:
            accounts.login_failed(username=username, address=address)
        else:
            accounts.login_succeeded(username=username, address=address)
        return user


class ThrottledAuthenticationForm(AuthenticationForm):
    def get_invalid_login_error(self) -> ValidationError:
        wait = getattr(self.request, "login_retry_after", 0)
        if wait:
            minutes = -(-wait // 60)
            return ValidationError(
                "Too many failed log-ins. Try again in %(minutes)d minute(s).",
                code="throttled",
                params={"minutes": minutes},
            )
        return super().get_invalid_login_error()


class LoginView(auth_views.LoginView):
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        # Instructors land on their classes, students on their modules.
        from learning.views import home_url

        return home_url(self.request.user)

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if getattr(self.request, "login_retry_after", 0):
            response.status_code = 429
            response["Retry-After"] = str(self.request.login_retry_after)
        return response
