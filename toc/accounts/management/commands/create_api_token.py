from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from toc.accounts.models import ApiToken


class Command(BaseCommand):
    help = "Creates a personal API token for a user and prints it (shown only once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="command line")

    def handle(self, *args, username: str, name: str, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user “{username}”.")
        _, secret = ApiToken.objects.create(user=user, name=name, expiry=None)
        self.stdout.write(secret)
