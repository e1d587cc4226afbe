"""Log in, log out and sign up, at the root namespace so LOGIN_URL = "login" resolves.

Only these three: Django's full auth URLs would add password reset, which sends
email we have no backend for.
"""

from django.contrib.auth import views as auth_views
from django.urls import path

from learning import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", views.signup, name="signup"),
]
