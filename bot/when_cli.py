"""`kampung when "TEXT" [--now ISO8601]`: try the natural-time reader from the desk.

Prints the moment as ISO 8601 with its offset, or the catalogue's reason (in the
default language) with exit status 2. Needs no database, so it builds only a Catalog.
"""
from __future__ import annotations

from datetime import datetime, timezone

from bot.i18n import REFERENCE, Catalog
from handlers.natural_time import parse_when

ZONE = "Asia/Jakarta"


def cmd_when(args) -> int:
    catalog = Catalog()
    try:
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(timezone.utc)
    except ValueError:
        now = None
    if now is None or now.tzinfo is None:
        print(catalog.text(REFERENCE, "when.cli_bad_now"))
        return 2
    result = parse_when(args.text, now, args.zone)
    if result.at is None:
        print(catalog.text(REFERENCE, f"when.{result.reason}"))
        return 2
    print(result.at.isoformat())
    return 0


def register(sub) -> None:
    p = sub.add_parser("when", help='read a time the way coordinators type it, e.g. "besok jam 8 malam"')
    p.add_argument("text")
    p.add_argument("--now", help="the moment to read it from, ISO 8601 with offset (default: now)")
    p.add_argument("--zone", default=ZONE, help=f"the kampung's time zone (default: {ZONE})")
    p.set_defaults(func=cmd_when)
