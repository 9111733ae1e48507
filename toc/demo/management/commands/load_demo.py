from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from toc.demo.loader import DEMO_USER, demo_load


class Command(BaseCommand):
    help = "Creates the demo team, user and network anomaly detection system."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load the demo even though DEBUG is off (it adds a known password).",
        )

    def handle(self, *args, force: bool, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off: the demo adds a user with a well-known password. "
                "Pass --force if you really want it here."
            )
        system = demo_load()
        username, password = DEMO_USER
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: {system.name} with {system.stages.count()} stages.\n"
                f"Log in at http://127.0.0.1:8000/ as {username} / {password}"
            )
        )
