"""The broadcasts feature: announcements from staff to the kampung, an RT or a paguyuban,
sent now, at a time, or on a repeating schedule; the delivery summary for the sender;
`kampung broadcasts list|cancel|send` (bot.broadcast_desk).

Who reaches whom: the koordinator, ketua RW and admin any audience; an RT head only
their own RT(s). The flow offers only those, and the effect handlers check again.

Sending a run: every consented resident of the audience gets one message on their
preferred channel, in their own language, through the notifier (a resident imported
with a phone number and no chat account on the installation's phone channels): the
coordinator's words wrapped in the catalogue's "📢 Pengumuman dari {sender}" template.
Residents who said STOP are counted as skipped, never messaged; those the notifier
cannot reach are counted with the reason. The preview counts with the notifier's own
rule (bot.notify.reach), so its numbers are what is then sent. A paguyuban's linked
Telegram groups get one post each. Every message is a delivery row pointing at its
outbox row (none: not reachable), so the summary counts from the outbox's own status
and delivery receipts. "Sekarang" is sent in the transaction of the confirmation
itself; scheduled runs by the due task.

Due task and downtime (setting REMINDER_GRACE_MINUTES, default 60):
- a broadcast is claimed by an UPDATE that checks its status and `next_run_at` in the
  transaction that writes its outbox rows, so it is never sent twice, even with two
  runners;
- a one-off whose time passed more than the grace period ago (the bot was down) is NOT
  sent: an announcement hours late may be wrong ("nanti malam kerja bakti") and may
  land in quiet hours. It becomes `missed` and the sender is told, so they can send it
  again if it still holds;
- a repeating one that missed one or more runs while the bot was down runs once for the
  latest missed time if that is within the grace period (else that run is skipped and
  the sender told), and `next_run_at` moves to the first run after now: never a burst.
  Runs are computed on the kampung's wall clock (Asia/Jakarta has no DST).

Delivery summary: once every outbox row of a run is final, or SUMMARY_WAIT after the run
started, the sender gets delivered (and read), failed with plain reasons ("nomor tidak
aktif di WhatsApp", "memblokir bot"), not reachable (never queued) and skipped (STOP).
Final: delivered or read, failed (by the dispatcher or a receipt), uncertain (in flight
at a crash), and sent on a channel that gives no receipts. Not final until SUMMARY_WAIT:
still queued, `held` (a WhatsApp message waiting for the resident to open the 24-hour
window) and sent on Twilio with no receipt yet (delivery queued/sent); the summary then
names those as "masih dalam antrean", "menunggu warga membalas" and "terkirim, belum
ada kabar". `kampung broadcasts show N` lists each recipient's status.

Photos: the reference the sender's channel gave (a Twilio media URL, "telegram-file:<id>")
is stored with the broadcast and fetched by the worker into DATA_DIR/broadcasts
(bot.media, as report photos are); a run waits for it, up to PHOTO_WAIT, and then sends
the file on every channel (WhatsApp through a signed /files link, Telegram as an upload).
A photo nothing could fetch in time (no channel for it: the console, `kampung simulate`)
goes as its reference where that reaches: an http(s) URL to WhatsApp and Telegram, a
Telegram file id to Telegram only. "Sekarang" with a photo is therefore sent by the due
task a moment later, not in the confirmation's transaction.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from bot.events import in_audience
from bot.features import EffectContext, Feature, TaskContext
from bot.groups import group_chats_for
from bot.notify import Notifier, Reach, reach as reach_of
from bot.settings import Settings
from bot.unreached import FAILED_DELIVERY, GAVE_UP, Unreached, unreached_in
from db.broadcasts import Broadcast, BroadcastDelivery, BroadcastPhoto, BroadcastRun
from db.models import Outbox, Resident
from flows.base import ResidentInfo, Say, When
from flows.broadcast import CancelBroadcast, CreateBroadcast, audience_say, rule_say
from flows.scope import STAFF_ROLES, Scope, scope_of
from flows.unreached import channels_say, reasons_say, unreached_say
from handlers.recurrence import Recurrence, in_quiet, moment_in_quiet, quiet_end_after, rule_out_of_quiet
from handlers.understanding import clean

log = logging.getLogger(__name__)

SUMMARY_WAIT = timedelta(minutes=30)
LIST_LIMIT = 9
TEXT_LIMIT = 1500
ROLE_ORDER = ("koordinator", "ketua_rw", "admin", "ketua_rt")
TELEGRAM_FILE = "telegram-file:"
# How long a run waits for the worker to fetch its photo before it goes as it can.
PHOTO_WAIT = timedelta(minutes=10)
GROUP_LANGUAGE = "id"


@dataclass(frozen=True)
class AudienceReach:
    people: Reach  # the audience's consented residents: per channel, and why not reached
    groups: int  # linked Telegram group chats


@dataclass(frozen=True)
class Scheduled:
    id: int
    text: str
    audience: str
    rule: str | None
    next_run_at: datetime | None


# -- who ------------------------------------------------------------------------------------
def _members(audience: str):
    return (select(Resident.id, Resident.opted_out)
            .where(Resident.consent_at.is_not(None), in_audience(audience)).order_by(Resident.id))


def _group_chats(conn: Connection, audience: str) -> list[str]:
    kind, _, name = audience.partition(":")
    return group_chats_for(conn, name) if kind == "paguyuban" else []


def reach(conn: Connection, audience: str, phone_channels: tuple[str, ...]) -> AudienceReach:
    """Who a run to `audience` would reach, residents known only by their phone written
    to on `phone_channels` (the installation's, Settings.phone_channels)."""
    ids = [rid for rid, _ in conn.execute(_members(audience))]
    return AudienceReach(reach_of(conn, ids, phone_channels), len(_group_chats(conn, audience)))


def may_address(scope: Scope, audience: str) -> bool:
    """Kampung-wide staff: any audience; an RT head: only "rt:NN" of their own RT."""
    if scope.everything:
        return True
    kind, _, rt = audience.partition(":")
    return kind == "rt" and rt in scope.rts


def _visible(scope: Scope):
    """SQL condition: the broadcasts a staff member may list and cancel."""
    if scope.everything:
        return Broadcast.id.is_not(None)
    return Broadcast.audience.in_([f"rt:{rt}" for rt in sorted(scope.rts)] or ["-"])


class BroadcastsView:
    """`ctx.store.broadcasts`: recipient counts and the scheduled announcements in scope."""

    def __init__(self, conn: Connection, resident: ResidentInfo, now: datetime, settings: Settings):
        self.conn, self.scope = conn, scope_of(resident)
        self.phone_channels = settings.phone_channels

    def reach(self, audience: str) -> AudienceReach:
        if not may_address(self.scope, audience):
            return AudienceReach(Reach(), 0)
        return reach(self.conn, audience, self.phone_channels)

    def unreached(self, rt: str) -> list[Unreached]:
        """Residents of RT `rt` the bot cannot reach (see bot.unreached), within scope."""
        return unreached_in(self.conn, rt, self.phone_channels) if self.scope.covers(rt) else []

    def _scheduled(self):
        return (select(Broadcast.id, Broadcast.text, Broadcast.audience, Broadcast.rule, Broadcast.next_run_at)
                .where(Broadcast.status == "scheduled", _visible(self.scope)))

    def scheduled(self) -> list[Scheduled]:
        """The next ones due, at most LIST_LIMIT."""
        rows = self.conn.execute(self._scheduled().order_by(Broadcast.next_run_at, Broadcast.id).limit(LIST_LIMIT))
        return [Scheduled(*row) for row in rows]

    def get(self, broadcast_id: int) -> Scheduled | None:
        row = self.conn.execute(self._scheduled().where(Broadcast.id == broadcast_id)).first()
        return Scheduled(*row) if row else None


# -- sending ---------------------------------------------------------------------------------
def media_for(ref: str | None) -> dict[str, str]:
    """The image to attach per channel (see the module docstring)."""
    if not ref:
        return {}
    if ref.startswith(TELEGRAM_FILE):
        return {"telegram": ref.removeprefix(TELEGRAM_FILE)}
    if ref.startswith(("https://", "http://")):
        return {"whatsapp": ref, "telegram": ref, "console": ref}
    return {}


def _sender_say(name: str, role: str | None) -> Say:
    """"Bu Ani (koordinator)"; the role alone once the sender erased their data."""
    if not role:
        return Say("broadcast.sender_desk")
    role_name, _, rt = role.partition(":")
    role_say = Say(f"broadcast.role.{role_name}", {"rt": rt})
    return Say("broadcast.sender", {"name": name, "role": role_say}) if name else role_say


def forget_sender(conn: Connection, resident_id: int) -> None:
    """A sender who erased their data: their announcements (a repeating one goes on) keep
    only the role they sent them in."""
    conn.execute(update(Broadcast).where(Broadcast.sender_id == resident_id).values(sender_name=""))


def sender_role(resident: ResidentInfo) -> str | None:
    roles = {role: rt for role, rt in resident.roles}
    for role in ROLE_ORDER:
        if role in roles:
            return f"{role}:{roles[role]}" if role == "ketua_rt" and roles[role] else role
    return None


@dataclass(frozen=True)
class RunResult:
    run_id: int
    reach: Reach  # the residents queued, per channel, and why the others were not
    groups: int

    @property
    def queued(self) -> int:
        return self.reach.reached


_BROADCAST = select(Broadcast).where(Broadcast.id == bindparam("bid"))


def run_broadcast(conn: Connection, notifier: Notifier, broadcast_id: int, due_at: datetime, now: datetime,
                  language: str = GROUP_LANGUAGE) -> RunResult:
    """Queue one run of a broadcast: a message per reachable member, a post per linked group."""
    b = conn.execute(_BROADCAST, {"bid": broadcast_id}).one()
    run_id = conn.execute(insert(BroadcastRun).values(broadcast_id=b.id, due_at=due_at, started_at=now,
                                                      skipped=0)).inserted_primary_key[0]
    params = {"sender": _sender_say(b.sender_name, b.sender_role), "text": b.text}
    photo = conn.scalar(select(BroadcastPhoto.path).where(BroadcastPhoto.broadcast_id == b.id,
                                                          BroadcastPhoto.status == "saved"))
    media = {} if photo else media_for(b.media_url)
    deliveries, skipped = [], 0
    members = conn.execute(_members(b.audience)).all()
    reached = notifier.reach(conn, [rid for rid, _ in members])
    for rid, opted_out in members:
        if opted_out:
            skipped += 1
            continue
        # Quiet hours were weighed when it was scheduled or confirmed ("tetap kirim sekarang").
        outbox_id = notifier.queue(conn, rid, "broadcast.message", params, now, announcement=True, media=media,
                                   document=photo, even_in_quiet_hours=True)
        deliveries.append({"run_id": run_id, "resident_id": rid, "chat_id": None, "outbox_id": outbox_id})
    chats = _group_chats(conn, b.audience)
    for chat in chats:
        outbox_id = notifier.post_to_chat(conn, "telegram", chat, language, "broadcast.message", params, now,
                                          media_url=media.get("telegram"), document=photo, even_in_quiet_hours=True)
        deliveries.append({"run_id": run_id, "resident_id": None, "chat_id": chat, "outbox_id": outbox_id})
    if deliveries:
        conn.execute(insert(BroadcastDelivery), deliveries)
    conn.execute(update(BroadcastRun).where(BroadcastRun.id == run_id).values(skipped=skipped))
    log.info("broadcast %s run %s: %s queued %s, %s skipped (STOP), unreachable %s, %s groups",
             b.id, run_id, reached.reached, reached.channels, skipped,
             {r: n for r, n in reached.unreached.items() if r != "stopped"}, len(chats))
    return RunResult(run_id, reached, len(chats))


class BroadcastError(ValueError):
    """A refused broadcast, as a catalogue key and its placeholders."""

    def __init__(self, key: str, **params):
        super().__init__(key)
        self.key, self.params = key, params


@dataclass(frozen=True)
class NewBroadcast:
    text: str
    audience: str
    media_url: str | None = None
    at: datetime | None = None
    rule: Recurrence | None = None
    sender_id: int | None = None
    sender_name: str = ""
    sender_role: str | None = None
    media_type: str = ""


@dataclass(frozen=True)
class Created:
    id: int
    run: RunResult | None  # sent now
    next_run_at: datetime | None


def create_broadcast(conn: Connection, notifier: Notifier, new: NewBroadcast, now: datetime, zone: str,
                     quiet: tuple | None, quiet_ok: bool = False, language: str = GROUP_LANGUAGE) -> Created:
    """Store a broadcast; send it at once when it has no time. Refuses (BroadcastError)
    a past time, a time or repetition inside quiet hours, and "now" inside them unless
    `quiet_ok`."""
    text = clean(new.text, limit=TEXT_LIMIT, keep_lines=True)
    if len([ch for ch in text if ch.isalnum()]) < 3:
        raise BroadcastError("broadcast.text_short")
    if new.rule is not None:
        if in_quiet(new.rule.at, quiet):
            raise BroadcastError("broadcast.refused_quiet_rule", suggest=rule_say(rule_out_of_quiet(new.rule, quiet)))
        next_run = new.rule.next_after(now, zone)
    elif new.at is not None:
        if new.at <= now:
            raise BroadcastError("when.past")
        if moment_in_quiet(new.at, quiet, zone):
            raise BroadcastError("broadcast.refused_quiet_at", suggest=When(quiet_end_after(new.at, quiet, zone)))
        next_run = new.at.astimezone(timezone.utc)
    else:
        if not quiet_ok and moment_in_quiet(now, quiet, zone):
            raise BroadcastError("broadcast.refused_quiet_now", suggest=When(quiet_end_after(now, quiet, zone)))
        # With a photo, "now" is as soon as the worker has fetched it (PHOTO_WAIT at most).
        next_run = now if new.media_url else None
    values = dict(sender_id=new.sender_id, sender_name=new.sender_name, sender_role=new.sender_role, text=text,
                  media_url=new.media_url, audience=new.audience, rule=new.rule.spec() if new.rule else None,
                  next_run_at=next_run, created_at=now, status="scheduled" if next_run else "sending")
    broadcast_id = conn.execute(insert(Broadcast).values(**values)).inserted_primary_key[0]
    if new.media_url:
        conn.execute(insert(BroadcastPhoto).values(
            broadcast_id=broadcast_id, url=new.media_url, content_type=(new.media_type or "image/jpeg")[:64],
            status="pending", attempts=0, not_before=now))
    run = None if next_run else run_broadcast(conn, notifier, broadcast_id, now, now, language)
    log.info("broadcast %s to %s: %s", broadcast_id, new.audience, values["rule"] or next_run or "now")
    return Created(broadcast_id, run, next_run)


def cancel_broadcast(conn: Connection, broadcast_id: int, scope: Scope, now: datetime) -> bool:
    """Stop a scheduled/repeating broadcast within `scope`; False if there is none."""
    return bool(conn.execute(
        update(Broadcast).where(Broadcast.id == broadcast_id, Broadcast.status == "scheduled", _visible(scope))
        .values(status="cancelled", cancelled_at=now)).rowcount)


# -- effects ----------------------------------------------------------------------------------
def _is_staff(resident: ResidentInfo) -> bool:
    return any(role in STAFF_ROLES for role, _ in resident.roles)


def _on_create(ectx: EffectContext, effect: CreateBroadcast) -> list[Say]:
    resident, scope = ectx.resident, scope_of(ectx.resident)
    if not _is_staff(resident) or not may_address(scope, effect.audience):
        return [Say("broadcast.not_yours")]
    settings = ectx.settings
    zone = settings.timezone if settings else "Asia/Jakarta"
    quiet = settings.quiet_window() if settings else None
    new = NewBroadcast(effect.text, effect.audience, effect.media_url,
                       datetime.fromisoformat(effect.at) if effect.at else None,
                       Recurrence.from_spec(effect.rule) if effect.rule else None,
                       resident.id, resident.name or resident.phone or "-", sender_role(resident), effect.media_type)
    try:
        created = create_broadcast(ectx.conn, ectx.notifier, new, ectx.now, zone, quiet, effect.quiet_ok,
                                   settings.default_language if settings else GROUP_LANGUAGE)
    except BroadcastError as exc:
        return [Say(exc.key, exc.params)]
    return [created_say(created, new)]


def created_say(created: Created, new: NewBroadcast) -> Say:
    params = {"id": created.id, "audience": audience_say(new.audience)}
    if created.run is not None:
        run = created.run
        groups = Say("broadcast.preview_groups", {"count": run.groups}) if run.groups else ""
        return Say("broadcast.queued", {**params, "count": run.queued, "channels": channels_say(run.reach.channels),
                                        "stopped": run.reach.stopped, "groups": groups,
                                        "unreached": unreached_say("broadcast.queued_unreached", run.reach)})
    if new.at is None and new.rule is None:  # now, once its photo is ready
        return Say("broadcast.queued_with_photo", params)
    if new.rule is not None:
        return Say("broadcast.scheduled_every", {**params, "rule": rule_say(new.rule), "next": When(created.next_run_at)})
    return Say("broadcast.scheduled_at", {**params, "at": When(created.next_run_at)})


def _on_cancel(ectx: EffectContext, effect: CancelBroadcast) -> list[Say]:
    if not _is_staff(ectx.resident):
        return [Say("broadcast.not_yours")]
    if cancel_broadcast(ectx.conn, effect.broadcast_id, scope_of(ectx.resident), ectx.now):
        return [Say("broadcast.cancelled_one", {"id": effect.broadcast_id})]
    return [Say("broadcast.gone")]


# -- due tasks ---------------------------------------------------------------------------------
_DUE = (select(Broadcast.id, Broadcast.rule, Broadcast.next_run_at, Broadcast.sender_id, Broadcast.audience,
               BroadcastPhoto.status.label("photo"))
        .outerjoin(BroadcastPhoto, BroadcastPhoto.broadcast_id == Broadcast.id)
        .where(Broadcast.status == "scheduled", Broadcast.next_run_at <= bindparam("now"))
        .order_by(Broadcast.next_run_at, Broadcast.id))


def _claim(conn: Connection, row, **values) -> bool:
    """Take a due broadcast for this runner: nobody else changed it since it was read."""
    return bool(conn.execute(update(Broadcast).where(
        Broadcast.id == row.id, Broadcast.status == "scheduled", Broadcast.next_run_at == row.next_run_at,
    ).values(**values)).rowcount)


def send_due_broadcasts(task: TaskContext) -> int:
    """Send every scheduled broadcast that is due (see the module docstring for downtime)."""
    conn, now, settings = task.conn, task.now, task.settings
    grace = timedelta(minutes=settings.reminder_grace_minutes)
    handled = 0
    for row in conn.execute(_DUE, {"now": now}).all():
        if row.photo == "pending" and now < row.next_run_at + PHOTO_WAIT:
            continue  # the worker is fetching its photo; after PHOTO_WAIT it goes as it can
        grace_here = grace + (PHOTO_WAIT if row.photo else timedelta(0))
        if row.rule:
            rule = Recurrence.from_spec(row.rule)
            latest = rule.last_at_or_before(now, settings.timezone) or row.next_run_at
            if not _claim(conn, row, next_run_at=rule.next_after(now, settings.timezone)):
                continue
            due = max(latest, row.next_run_at)
        else:
            due = row.next_run_at
            late = now - due > grace_here
            if not _claim(conn, row, status="missed" if late else "sending"):
                continue
        handled += 1
        if now - due > grace_here:
            log.warning("broadcast %s due %s not sent: now %s is beyond the grace period %s",
                        row.id, due.isoformat(), now.isoformat(), grace)
            if row.sender_id is not None:
                task.notifier.notify(conn, row.sender_id, "broadcast.missed",
                                     {"id": row.id, "at": When(due), "audience": audience_say(row.audience)},
                                     now, announcement=False)
            continue
        run_broadcast(conn, task.notifier, row.id, due, now, settings.default_language)
    return handled


_OPEN_RUNS = (select(BroadcastRun.id, BroadcastRun.broadcast_id, BroadcastRun.started_at, BroadcastRun.skipped,
                     Broadcast.sender_id, Broadcast.rule, Broadcast.audience)
              .join(Broadcast, Broadcast.id == BroadcastRun.broadcast_id)
              .where(BroadcastRun.summary_at.is_(None)).order_by(BroadcastRun.id))
_RUN_STATUS = (select(BroadcastDelivery.resident_id, BroadcastDelivery.chat_id, BroadcastDelivery.outbox_id,
                      Outbox.status, Outbox.delivery, Outbox.failure)
               .outerjoin(Outbox, Outbox.id == BroadcastDelivery.outbox_id)
               .where(BroadcastDelivery.run_id == bindparam("run")))
# Twilio's word before its final receipt: the message is on its way.
RECEIPT_DUE = ("queued", "sent")


def recipient_status(outbox_id: int | None, status: str | None, delivery: str | None) -> str:
    """One recipient's state, in a word the summary and `broadcasts show` count and say
    (catalogue delivery.status.*): read, delivered, sent (no receipt yet), held,
    waiting, uncertain, failed, unreachable (never queued)."""
    if outbox_id is None:
        return "unreachable"
    if status in (None, "pending", "sending"):  # None: the row is gone
        return "waiting"  # a receipt of an earlier try (a failure sent on by SMS) no longer counts
    if status in ("held", "uncertain"):
        return status
    if status == "failed" or delivery in FAILED_DELIVERY:
        return "failed"
    return delivery if delivery in ("read", "delivered") else "sent"


@dataclass(frozen=True)
class Tally:
    read: int = 0
    delivered: int = 0  # delivered, not (yet) read
    sent: int = 0  # went out, no receipt (yet)
    held: int = 0  # waiting for the resident to open WhatsApp's window
    waiting: int = 0  # still queued
    uncertain: int = 0  # mid-send at a crash: may or may not have gone out (see bot.outbox)
    unreachable: int = 0  # never queued: no address the bot can use
    failures: dict[str, int] = field(default_factory=dict)  # failed, by reason (Failure value)
    receipts_due: int = 0  # sent on Twilio, its receipt not in yet
    groups_sent: int = 0
    groups_failed: int = 0

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    @property
    def final(self) -> bool:
        return self.waiting == self.held == self.receipts_due == 0


def tally(conn: Connection, run_id: int) -> Tally:
    counts: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    for resident_id, chat_id, outbox_id, status, delivery, failure in conn.execute(_RUN_STATUS, {"run": run_id}):
        if resident_id is None and chat_id is None:
            continue  # the resident erased their data (and their outbox rows) since
        what = recipient_status(outbox_id, status, delivery)
        if chat_id is not None:  # a group post: no receipts beyond Telegram's answer
            group = {"failed": "groups_failed", "waiting": "waiting", "held": "waiting", "uncertain": "uncertain"}
            counts[group.get(what, "groups_sent")] += 1
            continue
        if what == "failed":
            failures[failure or GAVE_UP] += 1
            continue
        counts[what] += 1
        counts["receipts_due"] += what == "sent" and delivery in RECEIPT_DUE
    return Tally(**counts, failures=dict(failures))


def summary_params(counts: Tally) -> dict:
    """The optional parts of a summary: failure reasons and what is not final yet."""
    def part(key: str, count: int) -> Say | str:
        return Say(key, {"count": count}) if count else ""

    reasons = reasons_say(counts.failures)
    return {
        "delivered": counts.delivered + counts.read, "read": counts.read, "failed": counts.failed,
        "reasons": Say("broadcast.summary_reasons", {"reasons": reasons}) if reasons else "",
        "unreachable": counts.unreachable,
        "sent": part("broadcast.summary_sent", counts.sent), "held": part("broadcast.summary_held", counts.held),
        "waiting": part("broadcast.summary_waiting", counts.waiting),
        "uncertain": part("broadcast.summary_uncertain", counts.uncertain),
        "groups": (Say("broadcast.summary_groups", {"sent": counts.groups_sent, "failed": counts.groups_failed})
                   if counts.groups_sent or counts.groups_failed else ""),
    }


def send_summaries(task: TaskContext) -> int:
    """Tell each sender how their run went, once it is final or SUMMARY_WAIT has passed."""
    conn, now = task.conn, task.now
    done = 0
    for run in conn.execute(_OPEN_RUNS).all():
        counts = tally(conn, run.id)
        if not counts.final and now - run.started_at < SUMMARY_WAIT:
            continue
        went_out = counts.read + counts.delivered + counts.sent
        marked = conn.execute(
            update(BroadcastRun).where(BroadcastRun.id == run.id, BroadcastRun.summary_at.is_(None))
            .values(summary_at=now, sent=went_out, failed=counts.failed + counts.unreachable)).rowcount
        if not marked:
            continue
        if run.rule is None:
            conn.execute(update(Broadcast).where(Broadcast.id == run.broadcast_id, Broadcast.status == "sending")
                         .values(status="done"))
        if run.sender_id is not None:
            task.notifier.notify(conn, run.sender_id, "broadcast.summary", {
                "id": run.broadcast_id, "audience": audience_say(run.audience), "stopped": run.skipped,
                **summary_params(counts)}, now, announcement=False)
        done += 1
    return done


# -- desk commands ------------------------------------------------------------------------------
def _cli(subparsers, make_app) -> None:
    from bot.broadcast_desk import add_cli  # here: bot.broadcast_desk imports this module

    add_cli(subparsers, make_app)


FEATURE = Feature(
    name="broadcasts",
    reads=BroadcastsView,
    effects={CreateBroadcast: _on_create, CancelBroadcast: _on_cancel},
    due_tasks=(send_due_broadcasts, send_summaries),
    cli=_cli,
    erase=forget_sender,
)
