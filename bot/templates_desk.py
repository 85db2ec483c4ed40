"""`kampung templates sync|list`: the WhatsApp templates of bot.templates created in
Twilio's Content API, submitted for WhatsApp's approval, and their approval status.

Sync is idempotent without trusting the database alone: it first lists what the
account already has (ContentAndApprovals) and adopts a template by its name, so a
run cut short after a create, or a fresh database, never makes a duplicate. Each
template is stored in its own transaction once its step succeeded.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList
from twilio.rest.content.v1.content.approval_create import ApprovalCreateList

from bot.features import Feature
from bot.i18n import Catalog
from bot.settings import Settings
from bot.templates import (CATEGORIES, KINDS, LANGUAGES, STATUSES, friendly_name, sample_variables,
                           template_body)
from db.templates import WhatsAppTemplate

log = logging.getLogger(__name__)
HTTP_TIMEOUT_SECONDS = 30.0
# twilio's HTTP client logs every request and its headers at INFO; a desk run needs none of it.
_http_log = log.getChild("http")
_http_log.setLevel(logging.WARNING)
WAITING = ("received", "pending")
EXIT_FAILED = 1
EXIT_NOT_CONFIGURED = 2


class ApiDown(Exception):
    """Twilio unreachable or failing as a whole: no point trying the next template."""

    def __init__(self, key: str, reason: str = ""):
        super().__init__(reason)
        self.key, self.reason = key, reason


@dataclass(frozen=True)
class Remote:
    """A template as Twilio has it."""

    sid: str
    status: str
    category: str
    rejection_reason: str


def content_client(settings: Settings) -> Client:
    """The twilio client, its Content domain pointed at TWILIO_CONTENT_BASE_URL when set
    (a fake in tests). Edge/region would rewrite the host afterwards, so they are cleared."""
    client = Client(settings.twilio_account_sid, settings.twilio_auth_token,
                    http_client=TwilioHttpClient(timeout=HTTP_TIMEOUT_SECONDS, logger=_http_log))
    if settings.twilio_content_base_url:
        client.content.base_url = settings.twilio_content_base_url.rstrip("/")
        client.edge = None
        client.region = None
    return client


def sync_templates(engine: Engine, client: Client, catalog: Catalog, now: datetime, say) -> int:
    """Create, submit and read back every catalogue template; the number that failed.
    Raises ApiDown when Twilio cannot be reached or fails with 5xx/429."""
    known = _guard(remote_templates, client)
    failed = 0
    for kind in KINDS:
        for language in LANGUAGES:
            name = friendly_name(kind, language)
            remote = known.get(name)
            try:
                created = remote is None
                if created:
                    remote = _guard(_create, client, catalog, kind, language)
                if remote.status == "unsubmitted":
                    remote = _guard(_submit, client, remote, name, kind)
                    say("templates.cli.created" if created else "templates.cli.submitted", name=name)
            except TwilioException as exc:
                say("templates.cli.failed", name=name, reason=_reason(exc))
                failed += 1
                continue
            with engine.begin() as conn:
                _store(conn, kind, language, name, remote, now)
    return failed


def remote_templates(client: Client) -> dict[str, Remote]:
    """The account's templates that carry one of our names, by name (an approved one
    first when a name was used twice)."""
    ours = {friendly_name(kind, language): kind for kind in KINDS for language in LANGUAGES}
    found: dict[str, Remote] = {}
    for item in client.content.v1.content_and_approvals.stream():
        if item.friendly_name not in ours:
            continue
        approval = item.approval_requests or {}
        remote = Remote(item.sid, _status(approval.get("status")),
                        _category(approval.get("category"), ours[item.friendly_name]),
                        approval.get("rejection_reason") or "")
        if item.friendly_name not in found or remote.status == "approved":
            found[item.friendly_name] = remote
    return found


def _create(client: Client, catalog: Catalog, kind: str, language: str) -> Remote:
    request = ContentList.ContentCreateRequest({
        "friendly_name": friendly_name(kind, language),
        "language": language,
        "variables": sample_variables(catalog, kind, language),
        "types": {"twilio/text": {"body": template_body(catalog, kind, language)}},
    })
    content = client.content.v1.contents.create(request)
    return Remote(content.sid, "unsubmitted", CATEGORIES[kind], "")


def _submit(client: Client, remote: Remote, name: str, kind: str) -> Remote:
    request = ApprovalCreateList.ContentApprovalRequest({"name": name, "category": CATEGORIES[kind].upper()})
    approval = client.content.v1.contents(remote.sid).approval_create.create(request)
    return replace(remote, status=_status(approval.status), category=_category(approval.category, kind),
                   rejection_reason=approval.rejection_reason or "")


def _guard(call, *args):
    """Run one API call; what means Twilio as a whole is down becomes ApiDown."""
    try:
        return call(*args)
    except OSError:  # requests' errors (no connection, a timeout) are OSErrors
        raise ApiDown("templates.cli.unreachable") from None
    except (TwilioRestException, TwilioServiceException) as exc:
        if exc.status == 429 or exc.status >= 500:
            raise ApiDown("templates.cli.api_down", _reason(exc)) from None
        raise
    except TwilioException as exc:  # a page of a listing that did not come back
        raise ApiDown("templates.cli.api_down", _reason(exc)) from None


def _reason(exc: TwilioException) -> str:
    """Status, Twilio's error code and its message, on one line."""
    if isinstance(exc, TwilioRestException):
        text = f"{exc.status} {exc.code}: {exc.msg}"
    elif isinstance(exc, TwilioServiceException):
        text = f"{exc.status} {exc.code}: {exc.detail or exc.title}"
    else:  # twilio's page errors carry the HTTP response as their second argument
        what, response = (exc.args + (None, None))[:2]
        try:
            payload = json.loads(response.text)
        except (AttributeError, TypeError, ValueError):
            payload = None
        text = (f"{response.status_code} {payload.get('code', '')}: {what}: {payload.get('message', '')}"
                if isinstance(payload, dict) else str(what))
    return " ".join(text.split())


def _status(value: str | None) -> str:
    status = (value or "unsubmitted").lower()
    if status not in STATUSES:
        log.warning("unknown WhatsApp template status %r, kept as pending", value)
        return "pending"
    return status


def _category(value: str | None, kind: str) -> str:
    """WhatsApp's category for the template (it may change ours when it reviews it);
    ours until it has one. A category outside utility/marketing is logged, ours kept."""
    category = (value or "").lower()
    if category in ("utility", "marketing"):
        return category
    if category:
        log.warning("WhatsApp template category %r for a %s template, kept %s", value, kind, CATEGORIES[kind])
    return CATEGORIES[kind]


def _store(conn, kind: str, language: str, name: str, remote: Remote, now: datetime) -> None:
    table = WhatsAppTemplate.__table__
    values = {"friendly_name": name, "content_sid": remote.sid, "category": remote.category,
              "status": remote.status, "rejection_reason": remote.rejection_reason[:500] or None, "updated_at": now}
    done = conn.execute(update(table).where(table.c.kind == kind, table.c.language == language).values(**values))
    if not done.rowcount:
        conn.execute(insert(table).values(kind=kind, language=language, **values))


def _rows(engine: Engine) -> dict[tuple[str, str], object]:
    table = WhatsAppTemplate.__table__
    with engine.connect() as conn:
        return {(row.kind, row.language): row for row in conn.execute(select(table))}


def _desk_sync(app, say) -> int:
    if not app.settings.twilio_enabled:
        say("templates.cli.no_twilio")
        return EXIT_NOT_CONFIGURED
    try:
        failed = sync_templates(app.engine, content_client(app.settings), app.catalog, app.clock.now(), say)
    except ApiDown as exc:
        say(exc.key, reason=exc.reason)
        return EXIT_FAILED
    statuses = [row.status for row in _rows(app.engine).values()]
    waiting = sum(s in WAITING for s in statuses)
    approved, rejected = statuses.count("approved"), statuses.count("rejected")
    say("templates.cli.summary", approved=approved, waiting=waiting, rejected=rejected,
        other=len(KINDS) * len(LANGUAGES) - approved - waiting - rejected)
    return EXIT_FAILED if failed else 0


def _desk_list(app, say) -> int:
    rows = _rows(app.engine)

    def text(key: str, **params) -> str:
        return app.catalog.text(app.settings.default_language, key, **params)

    for kind in KINDS:
        for language in LANGUAGES:
            row = rows.get((kind, language))
            reason = row.rejection_reason if row is not None and row.rejection_reason else ""
            say("templates.cli.line", name=friendly_name(kind, language), kind=text(f"template.kind.{kind}"),
                language=language,
                category=text(f"template.category.{row.category if row is not None else CATEGORIES[kind]}"),
                status=text(f"template.status.{row.status if row is not None else 'unsubmitted'}"),
                reason=text("templates.cli.reason", reason=reason) if reason else "")
    return 0


_DESK = {"sync": _desk_sync, "list": _desk_list}


def _run(app, args) -> int:
    def say(key: str, **params) -> None:
        print(app.catalog.text(app.settings.default_language, key, **params), flush=True)

    return _DESK[args.action](app, say)


def _cli(subparsers, make_app) -> None:
    parser = subparsers.add_parser("templates", help="WhatsApp templates: create and submit them, see their approval")
    parser.set_defaults(func=lambda args: _run(make_app(args), args))
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("sync", help="create missing templates in Twilio, submit them to WhatsApp, read their status")
    actions.add_parser("list", help="each template's category and approval status (as of the last sync)")


FEATURE = Feature(name="templates", cli=_cli)
