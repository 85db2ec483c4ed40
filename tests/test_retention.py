"""Retention (UU PDP): once a day the text of messages older than RETENTION_DAYS is
cleared; what summaries and deduplication need stays."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from bot.app import build_app
from bot.messages import IncomingMessage
from bot.settings import load_settings
from db.inbox import DeadLetter
from db.models import Inbox, Outbox
from scheduler.due import DueTasks

SRI = "+6281234567001"


def say(app, text: str, n: int) -> None:
    assert app.core.enqueue(IncomingMessage("whatsapp", SRI, text, external_id=f"twilio:SM{n}"))
    app.core.process_inbox()


def inbox(app) -> list[tuple]:
    with app.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(Inbox.external_id, Inbox.sender, Inbox.payload).order_by(Inbox.id))]


def outbox(app) -> list[tuple]:
    with app.engine.connect() as conn:
        return [(r.status, r.provider_id, bool(r.payload)) for r in conn.execute(select(Outbox).order_by(Outbox.id))]


@pytest.fixture
def old_and_new(app, clock):
    """Two messages from Sri 91 days ago (both answered: one reply sent, one failed),
    then one today still unanswered, and one not yet processed."""
    say(app, "halo", 1)
    say(app, "setuju", 2)
    with app.engine.begin() as conn:
        first, *rest = conn.scalars(select(Outbox.id).order_by(Outbox.id)).all()
        conn.execute(update(Outbox).where(Outbox.id == first).values(status="sent", provider_id="SM-out-1",
                                                                      delivery="read"))
        conn.execute(update(Outbox).where(Outbox.id.in_(rest)).values(status="failed"))
    clock.set(clock.now() + timedelta(days=91))
    say(app, "Bu Sri", 3)
    app.core.enqueue(IncomingMessage("whatsapp", SRI, "4", external_id="twilio:SM4"))


def test_old_message_text_is_cleared_and_the_rest_kept(app, clock, old_and_new):
    before = outbox(app)
    DueTasks.of(app).run(clock.now())

    rows = inbox(app)
    assert [r[:2] for r in rows] == [(f"twilio:SM{n}", f"whatsapp:{SRI}") for n in (1, 2, 3, 4)]
    assert [r[2] for r in rows[:2]] == [{}, {}]
    assert rows[2][2]["text"] == "Bu Sri" and rows[3][2]["text"] == "4"
    after = outbox(app)
    old = sum(1 for status, _, _ in before if status in ("sent", "failed"))
    assert after[:old] == [(status, provider, False) for status, provider, _ in before[:old]]
    assert after[old:] == before[old:] and all(has_text for _, _, has_text in after[old:])
    with app.engine.connect() as conn:
        assert conn.scalar(select(Outbox.delivery).order_by(Outbox.id).limit(1)) == "read"
    # A late redelivery of a cleared message is still recognised and ignored.
    assert not app.core.enqueue(IncomingMessage("whatsapp", SRI, "halo", external_id="twilio:SM1"))


def test_pending_replies_keep_their_text_however_old(app, clock):
    say(app, "halo", 1)
    clock.set(clock.now() + timedelta(days=200))
    DueTasks.of(app).run(clock.now())
    statuses = outbox(app)
    assert statuses and all(status == "pending" and has_text for status, _, has_text in statuses)


def test_old_dead_letters_go(app, clock):
    say(app, "halo", 1)
    with app.engine.begin() as conn:
        conn.execute(insert(DeadLetter).values(inbox_id=1, sender=f"whatsapp:{SRI}", error="TypeError: x",
                                               failed_at=clock.now()))
    clock.set(clock.now() + timedelta(days=91))
    DueTasks.of(app).run(clock.now())
    with app.engine.connect() as conn:
        assert conn.scalar(select(DeadLetter.id)) is None


def test_runs_at_most_daily_and_follows_retention_days(tmp_path, clock):
    settings = load_settings(env_file=None, environ={"DATABASE_URL": f"sqlite:///{tmp_path}/short.db",
                                                     "RETENTION_DAYS": "30"})
    app = build_app(settings, clock=clock)
    try:
        start = clock.now()
        say(app, "halo", 1)
        clock.set(start + timedelta(days=29, hours=12))
        DueTasks.of(app).run(clock.now())
        assert inbox(app)[0][2]["text"] == "halo"  # not old enough yet
        clock.set(start + timedelta(days=30, hours=1))
        DueTasks.of(app).run(clock.now())
        assert inbox(app)[0][2]["text"] == "halo"  # old enough, but the last check was 13 hours ago
        clock.set(start + timedelta(days=30, hours=12))
        DueTasks.of(app).run(clock.now())
        assert inbox(app)[0][2] == {}
    finally:
        app.engine.dispose()
