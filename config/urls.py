from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("learning.accounts_urls")),
    path("", include("diagnostics.urls")),
    path("", include("learning.urls")),
]

handler403 = "diagnostics.api.permission_denied"
handler404 = "diagnostics.api.not_found"
handler400 = "diagnostics.api.bad_request"
handler500 = "diagnostics.api.server_error"
