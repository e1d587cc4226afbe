from django.urls import path

from . import api, broker_auth, views

app_name = "diagnostics"

urlpatterns = [
    path("api/v1/reports", api.reports, name="api_reports"),
    path("api/v1/heartbeat", api.heartbeat, name="api_heartbeat"),
    path("api/v1/config", api.config, name="api_config"),
    path("api/v1/runs/<int:run_id>/claim", api.run_claim, name="api_run_claim"),
    path("api/v1/openapi.json", api.openapi, name="api_openapi"),
    path("gpu/", views.gpu, name="gpu"),
    path("gpu/token", views.token, name="token"),
    path("gpu/runs", views.run_start, name="run_start"),
    path("gpu/panel", views.panel, name="panel"),
    path("gpu/reports/<uuid:report_id>", views.report_detail, name="report_detail"),
    path("worker/<str:filename>", views.worker_wheel, name="worker_wheel"),
    # RabbitMQ's questions about students' workers; 404 for everyone but the broker.
    path("internal/broker/<str:kind>", broker_auth.auth, name="broker_auth"),
]
