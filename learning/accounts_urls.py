"""Log in, log out and sign up, at the root namespace so LOGIN_URL = "login" resolves.

Only these three: Django's full auth URLs would add password reset, which sends
email we have no backend for.
"""

from django.contrib.auth import views as auth_views
from django.urls import path

from learning import auth, views

urlpatterns = [
    # Throttled: too many failed attempts answer 429 (the admin's log-in shares the backend).
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", views.signup, name="signup"),
]
