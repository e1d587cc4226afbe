from django.apps import AppConfig


class DiagnosticsConfig(AppConfig):
    """The server side of diagnostics: worker tokens, check runs and reports.

    The student-side code (probe, bench, verdict, worker) lives in the same
    package but never imports Django; only these modules do.
    """

    name = "diagnostics"
    verbose_name = "GPU diagnostics"
    default_auto_field = "django.db.models.BigAutoField"
