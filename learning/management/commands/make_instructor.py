from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from learning.services.accounts import make_instructor


class Command(BaseCommand):
    help = "Make an existing account an instructor: it may create classes and import content."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *, username: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account has the user name {username!r}.")
        make_instructor(user=user)
        self.stdout.write(f"{username} is an instructor: they work under /teach/.")
