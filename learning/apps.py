from django.apps import AppConfig
from django.db.models.signals import post_migrate


class LearningConfig(AppConfig):
    name = "learning"
    verbose_name = "Learning"

    def ready(self) -> None:
        from learning import checks  # noqa: F401  (registers the system checks)

        # A new deployment has the Instructors and Students groups from its first
        # migrate, so the operator can make an instructor at once.
        post_migrate.connect(_ensure_roles, sender=self)


def _ensure_roles(**kwargs) -> None:
    from learning.services.accounts import ensure_roles

    ensure_roles()
