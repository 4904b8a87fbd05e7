"""``legal_hold``: an operator keeps a conversation past retention, or lets it go.

manage.py legal_hold place CONVERSATION_ID --why "Court order 2026-114" --by ops-alice
manage.py legal_hold release HOLD_ID --by ops-alice
manage.py legal_hold list
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chatbox.errors import ApplicationError
from reports.retention import holds_in_place, legal_hold_place, legal_hold_release


class Command(BaseCommand):
    help = "Place, release or list legal holds that keep conversations past retention."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        place = actions.add_parser("place", help="Hold a conversation.")
        place.add_argument("conversation")
        place.add_argument("--why", required=True)
        place.add_argument("--by", required=True, help="Who places it.")
        release = actions.add_parser("release", help="Release a hold.")
        release.add_argument("hold", type=int)
        release.add_argument("--by", required=True, help="Who releases it.")
        actions.add_parser("list", help="The holds in place.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "place":
                hold = legal_hold_place(
                    conversation_id=options["conversation"], why=options["why"], by=options["by"]
                )
                self.stdout.write(f"Hold {hold.pk} placed on {hold.conversation_id}.")
            elif options["action"] == "release":
                hold = legal_hold_release(hold_id=options["hold"], by=options["by"])
                self.stdout.write(f"Hold {hold.pk} on {hold.conversation_id} released.")
            else:
                for hold in holds_in_place():
                    self.stdout.write(
                        f"{hold.pk}\t{hold.conversation_id}\t{hold.placed_at:%Y-%m-%d}\t"
                        f"{hold.placed_by}\t{hold.why}"
                    )
        except ApplicationError as problem:
            raise CommandError(problem.message) from problem
