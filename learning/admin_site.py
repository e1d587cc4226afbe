"""The admin is for operators (superusers) only. Instructors work under /teach/
and hold no model permissions: the admin let them add any account to a class,
edit students' evidence and reviewers, hard-delete objectives and save raw HTML.

Signed out, the admin asks for a log-in as Django's does; signed in as anyone but
an operator, every admin page is a 403 that says where to go instead.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


class OperatorsAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def admin_view(self, view, cacheable=False):
        guarded = super().admin_view(view, cacheable)

        @wraps(guarded)
        def operators_only(request: HttpRequest, *args, **kwargs):
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied("The admin is for operators. Instructors: see Teach.")
            return guarded(request, *args, **kwargs)

        return operators_only


class OperatorsAdminConfig(AdminConfig):
    default_site = "learning.admin_site.OperatorsAdminSite"
