from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from toc.systems.models import IngestKey, System


class Command(BaseCommand):
    help = "Creates an ingest key for a system and prints it (shown only this once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("system_slug")
        parser.add_argument("--name", default="command line")

    def handle(self, *args, system_slug: str, name: str, **options) -> None:
        system = System.objects.filter(slug=system_slug).first()
        if system is None:
            raise CommandError(f"No system with the key “{system_slug}”.")
        _, secret = IngestKey.issue(system=system, name=name)
        self.stdout.write(secret)
