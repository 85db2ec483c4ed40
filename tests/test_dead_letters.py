"""One message that cannot be processed never stops the worker: it is rolled back and
retried on later passes, after three failures set aside as a dead letter (the sender
gets an apology in their language), and the messages after it are processed. The
desk lists dead letters (`kampung inbox failed`) and puts one back (`retry`)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.orm.exc import StaleDataError

from bot.app import build_app
from bot.cli import main
from bot.core import Core
from bot.messages import IncomingMessage
from bot.settings import load_settings
from db.inbox import DeadLetter
from db.models import Identity, Inbox, Outbox, Resident
from flows.help import HelpFlow
from tests.transcript import Kampung

SRI, BUDI = "+6281234567001", "+6281234567002"
BOOM = "bikin error"


@pytest.fixture
def boom(monkeypatch):
    """The main menu raises for one text, as a bug in a flow would."""
    answer = HelpFlow.answer

    def raising(self, step, ctx, ans):
        if ans.text == BOOM:
            raise RuntimeError("flow bug for this text")
        return answer(self, step, ctx, ans)

    monkeypatch.setattr(HelpFlow, "answer", raising)


@pytest.fixture
def residents(kampung, app):
    kampung.resident(f"whatsapp:{SRI}").onboard(name="Bu Sri")
    kampung.resident(f"whatsapp:{BUDI}").onboard(name="Pak Budi")
    with app.engine.begin() as conn:
        conn.execute(update(Outbox).values(status="sent"))


def enqueue(app, address: str, text: str, n: int) -> None:
    assert app.core.enqueue(IncomingMessage("whatsapp", address, text, external_id=f"twilio:SM{n}"))


def inbox(app) -> list[tuple]:
    with app.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(Inbox.external_id, Inbox.processed_at.is_not(None), Inbox.attempts).order_by(Inbox.id))]


def pending_texts(app) -> list[tuple[str, str]]:
    with app.engine.connect() as conn:
        return [(a, p["text"]) for a, p in conn.execute(
            select(Outbox.address, Outbox.payload).where(Outbox.status == "pending").order_by(Outbox.id))]


def dead_letters(app) -> list[tuple]:
    with app.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(DeadLetter.inbox_id, DeadLetter.sender, DeadLetter.error))]


def test_a_flow_that_raises_is_retried_then_set_aside_while_the_rest_go_on(app, residents, boom):
    enqueue(app, SRI, BOOM, 1)
    enqueue(app, BUDI, "data saya", 2)
    enqueue(app, SRI, "menu", 3)  # she stays at the main menu, where the text raises

    assert app.core.process_inbox() == 2  # the same pass reaches the messages after the bad one
    assert inbox(app) == [("twilio:SM1", False, 1), ("twilio:SM2", True, 0), ("twilio:SM3", True, 0)]
    assert [a for a, _ in pending_texts(app)] == [BUDI, SRI]
    assert dead_letters(app) == []

    assert app.core.process_inbox() == 0
    assert inbox(app)[0] == ("twilio:SM1", False, 2)
    assert app.core.process_inbox() == 0

    assert inbox(app)[0] == ("twilio:SM1", True, 3)
    assert dead_letters(app) == [(1, f"whatsapp:{SRI}", "RuntimeError: flow bug for this text")]
    apology = pending_texts(app)[-1]
    assert apology == (SRI, "Maaf, pesan Anda belum bisa kami proses. Coba lagi sebentar lagi, atau ketik *menu*.")
    assert app.core.process_inbox() == 0  # nothing left to try

    enqueue(app, SRI, "data saya", 4)  # the resident carries on as usual
    assert app.core.process_inbox() == 1
    assert "Bu Sri" in pending_texts(app)[-1][1]


def test_the_apology_is_in_the_residents_language_and_the_message_opened_the_window(app, kampung, boom, clock):
    kampung.resident(f"whatsapp:{SRI}").onboard(name="Bu Sri", language="2")
    with app.engine.connect() as conn:
        assert conn.scalar(select(Resident.language)) == "en"
    clock.set(clock.now() + timedelta(days=3))
    wrote = clock.now()
    enqueue(app, SRI, BOOM, 1)
    for _ in range(3):
        clock.set(clock.now() + timedelta(minutes=1))
        app.core.process_inbox()
    assert pending_texts(app)[-1] == (SRI, "Sorry, we could not process your message. Please try again in a "
                                           "moment, or type *menu*.")
    with app.engine.connect() as conn:  # WhatsApp's 24-hour window runs from her message
        assert conn.scalar(select(Identity.last_inbound_at)) == wrote


def test_a_blank_row_becomes_a_dead_letter_and_an_unknown_sender_gets_no_apology(app, residents):
    now = app.clock.now()
    with app.engine.begin() as conn:
        conn.execute(insert(Inbox), [
            {"external_id": None, "sender": "whatsapp:+6281234567009", "payload": {}, "received_at": now},
            {"external_id": None, "sender": "erased", "payload": {}, "received_at": now},
        ])
    enqueue(app, BUDI, "data saya", 1)
    for _ in range(3):
        app.core.process_inbox()
    letters = dead_letters(app)
    assert [(i, s) for i, s, _ in letters] == [(1, "whatsapp:+6281234567009"), (2, "erased")]
    assert all(error.startswith("TypeError: ") for _, _, error in letters)
    addresses = [a for a, _ in pending_texts(app)]
    assert addresses == [BUDI, "+6281234567009"]  # Budi's reply went in the first pass


def test_a_changed_conversation_is_retried_at_once_and_is_no_failure(app, residents, monkeypatch):
    calls = []
    save = Core._save_state

    def stale_once(conn, resident_id, version, state, now):
        calls.append(resident_id)
        if len(calls) == 1:
            raise StaleDataError("conversation was changed by another worker")
        return save(conn, resident_id, version, state, now)

    monkeypatch.setattr(Core, "_save_state", staticmethod(stale_once))
    enqueue(app, SRI, "data saya", 1)
    assert app.core.process_inbox() == 1
    assert inbox(app) == [("twilio:SM1", True, 0)]
    assert len(calls) == 2 and dead_letters(app) == []


def test_erasure_leaves_unprocessed_messages_to_be_processed_as_from_a_new_contact(app, residents):
    enqueue(app, SRI, "hapus data saya", 1)
    enqueue(app, SRI, "ya", 2)
    enqueue(app, SRI, "halo", 3)

    assert app.core.process_inbox() == 3

    with app.engine.connect() as conn:
        rows = conn.execute(select(Inbox.external_id, Inbox.sender, Inbox.payload).order_by(Inbox.id)).all()
    assert [tuple(r[:2]) for r in rows] == [("twilio:SM1", "erased"), ("twilio:SM2", "erased"),
                                            ("twilio:SM3", f"whatsapp:{SRI}")]
    assert rows[0].payload == rows[1].payload == {} and rows[2].payload["text"] == "halo"
    assert dead_letters(app) == []
    assert "setuju?" in pending_texts(app)[-1][1]  # onboarding again


def test_erasure_removes_the_residents_dead_letters(app, residents, boom):
    enqueue(app, SRI, BOOM, 1)
    for _ in range(3):
        app.core.process_inbox()
    assert len(dead_letters(app)) == 1
    enqueue(app, SRI, "hapus data saya", 2)
    enqueue(app, SRI, "ya", 3)
    app.core.process_inbox()
    assert dead_letters(app) == []


# -- the desk ---------------------------------------------------------------------------


@pytest.fixture
def url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def desk(*args: str) -> int:
    return main(["--env-file", "/nonexistent", "inbox", *args])


def test_desk_lists_dead_letters_and_retries_one(url, capsys, boom):
    app = build_app(load_settings(env_file=None, environ={"DATABASE_URL": url}))
    try:
        Kampung(app).resident(f"whatsapp:{SRI}").onboard(name="Bu Sri")
        assert desk("failed") == 0
        assert capsys.readouterr().out == "Tidak ada pesan yang gagal diproses.\n"
        enqueue(app, SRI, BOOM, 1)
        for _ in range(3):
            app.core.process_inbox()

        assert desk("failed") == 0
        [line] = capsys.readouterr().out.splitlines()
        number, day, time, sender, *error = line.split()
        assert number == "1" and len(day) == 10 and len(time) == 5
        assert sender == "whatsapp:+62812****7001"
        assert " ".join(error) == "RuntimeError: flow bug for this text"

        assert desk("retry", "1") == 0
        assert capsys.readouterr().out == "Pesan 1 dikembalikan ke antrean dan akan diproses lagi.\n"
        assert dead_letters(app) == [] and inbox(app) == [("twilio:SM1", False, 0)]
        assert app.core.process_inbox() == 0
        assert inbox(app) == [("twilio:SM1", False, 1)]  # tried again (and it still fails)
    finally:
        app.engine.dispose()


def test_desk_retry_of_an_unknown_id_says_so_in_one_line(url, capsys):
    assert desk("retry", "42") == 2
    out = capsys.readouterr()
    assert out.out == "Tidak ada pesan gagal dengan nomor 42. Lihat daftarnya dengan: kampung inbox failed\n"
    assert "Traceback" not in out.err
