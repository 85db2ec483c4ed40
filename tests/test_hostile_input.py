"""Hostile and odd input straight into the core: nothing raises, every message gets a
polite Indonesian reply, the database survives and stored names are clean."""
from __future__ import annotations

import itertools
import unicodedata

import pytest
from sqlalchemy import func, inspect, select

from bot.app import App, build_app
from bot.messages import IncomingMessage
from bot.settings import load_settings
from db.models import Conversation, Identity, Outbox, Resident

TABLES = {"residents", "identities", "conversations", "inbox", "outbox", "kampung", "rts", "paguyuban"}
# Words that appear in the bot's Indonesian replies (apologies, prompts, the menu).
INDONESIAN = ("Maaf", "Anda", "kami", "Balas", "Siapa", "Menu", "Terima kasih", "pilih", "Pilih", "Tulis", "untuk",
              "siapa", "Kapan", "berapa")
TWILIO_BODY_LIMIT = 1600

SQL_DROP = "'; DROP TABLE residents; --"
SQL_DELETE = "Robert'); DELETE FROM outbox;--"
HOSTILE = {
    "long_10k": "a" * 10_000,
    "long_words": "Sri " * 2_500,
    "emoji_only": "😀🙏🎉🔥",
    "zero_width_only": "\u200b\u200c\u200d\ufeff",
    "nul_only": "\x00",
    "zero_width_in_name": "Bu\u200b Sri",
    "nul_in_name": "Bu\x00Sri",
    "ansi_colour": "\x1b[31mBu Sri\x1b[0m",
    "sql_drop": SQL_DROP,
    "sql_delete": SQL_DELETE,
}
# What the name step should store for each input; None: the name is asked again.
EXPECTED_NAME = {
    "long_10k": None,
    "long_words": None,
    "emoji_only": None,
    "zero_width_only": None,
    "nul_only": None,
    "zero_width_in_name": "Bu Sri",
    "nul_in_name": "Bu Sri",
    "ansi_colour": ...,  # any clean name: only the control characters must be gone
    "sql_drop": SQL_DROP,
    "sql_delete": SQL_DELETE,
}
_addresses = (f"+628120000{n:04d}" for n in itertools.count(1))


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> App:
    db = tmp_path_factory.mktemp("hostile") / "kampung.db"
    app = build_app(load_settings(env_file=None, environ={"DATABASE_URL": f"sqlite:///{db}"}))
    yield app
    app.engine.dispose()


def send(app: App, address: str, text: str) -> list[dict]:
    """One WhatsApp message through the core; returns the reply payloads."""
    rows = app.core.receive(IncomingMessage("whatsapp", address, text))
    return [out.to_dict() for out in rows]


def onboard_until_name(app: App) -> str:
    address = next(_addresses)
    send(app, address, "halo")
    replies = send(app, address, "setuju")
    assert replies[-1]["step"] == "name"
    return address


def onboard_until_menu(app: App) -> str:
    address = onboard_until_name(app)
    for text in ("Bu Sri", "4", "1", "1"):
        replies = send(app, address, text)
    assert (replies[-1]["flow"], replies[-1]["step"]) == ("help", "menu")
    return address


def stored(app: App, address: str) -> tuple[Resident, Conversation]:
    with app.sessions() as session:
        identity = session.scalars(select(Identity).where(Identity.address == address)).one()
        resident = session.get(Resident, identity.resident_id)
        return resident, session.get(Conversation, resident.id)


def assert_polite(replies: list[dict]) -> None:
    assert replies, "no reply at all"
    for reply in replies:
        text = reply["text"]
        assert text.strip(), f"empty reply {reply}"
        assert len(text) < TWILIO_BODY_LIMIT, "reply echoes too much of the input"
        assert "\x00" not in text and "\x1b" not in text
    joined = " ".join(r["text"] for r in replies)
    assert any(word in joined for word in INDONESIAN), f"not an Indonesian reply: {joined[:200]!r}"


def assert_database_intact(app: App) -> None:
    assert TABLES <= set(inspect(app.engine).get_table_names())
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Resident)) > 0
        assert session.scalar(select(func.count()).select_from(Outbox)) > 0


def assert_clean_name(name: str) -> None:
    assert 2 <= len(name) <= 60
    assert name == name.strip()
    invisible = [ch for ch in name if unicodedata.category(ch).startswith("C")]
    assert not invisible, f"control/format characters kept in {name!r}"


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_name(app, case):
    address = onboard_until_name(app)

    replies = send(app, address, HOSTILE[case])

    assert_polite(replies)
    assert_database_intact(app)
    resident, conv = stored(app, address)
    expected = EXPECTED_NAME[case]
    if expected is None:
        assert resident.name is None
        assert (conv.flow, conv.step) == ("onboarding", "name")
        assert replies[-1]["step"] == "name"
        assert replies[0]["text"].startswith("Maaf")  # an apology, then the question again
        assert replies[-1]["text"].startswith("Siapa nama Anda")
    else:
        assert_clean_name(resident.name)
        if expected is not ...:
            assert resident.name == expected
        assert (conv.flow, conv.step) == ("onboarding", "rt")
        assert replies[-1]["step"] == "rt"


def test_ansi_escape_loses_its_control_character(app):
    address = onboard_until_name(app)
    send(app, address, HOSTILE["ansi_colour"])
    resident, _ = stored(app, address)
    assert "\x1b" not in resident.name
    assert "Bu Sri" in resident.name


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_text_at_main_menu(app, case):
    address = onboard_until_menu(app)

    replies = send(app, address, HOSTILE[case])

    assert_polite(replies)
    assert_database_intact(app)
    resident, conv = stored(app, address)
    assert resident.name == "Bu Sri"
    assert conv.flow is not None
    # The resident can carry on: the menu still answers a real choice.
    follow_up = send(app, address, "menu")
    assert_polite(follow_up)
    assert (follow_up[-1]["flow"], follow_up[-1]["step"]) == ("help", "menu")


def test_hostile_first_message_starts_onboarding(app):
    for text in HOSTILE.values():
        address = next(_addresses)
        replies = send(app, address, text)
        assert_polite(replies)
        assert replies[-1]["step"] == "consent"
        assert [c["label"] for c in replies[-1]["choices"]] == ["Setuju", "Tidak setuju"]
    assert_database_intact(app)


def test_sql_fragments_are_stored_verbatim_and_harmless(app):
    first = onboard_until_name(app)
    second = onboard_until_name(app)
    send(app, first, SQL_DROP)
    send(app, second, SQL_DELETE)
    assert stored(app, first)[0].name == SQL_DROP
    assert stored(app, second)[0].name == SQL_DELETE
    assert_database_intact(app)


# Staff tools: the steps where a koordinator types free text.
STAFF_STEPS = {
    "broadcast_text": ("kirim pengumuman",),
    "broadcast_time": ("kirim pengumuman", "Kerja bakti Minggu pagi", "semua warga", "nanti"),
    "survey_title": ("kelola survei", "buat survei baru"),
    "survey_options": ("kelola survei", "buat survei baru", "Jadwal kerja bakti", "lewati", "pilih satu",
                       "Kapan yang cocok?"),
    "event_time": ("kelola acara", "buat acara baru", "rembuk warga", "1"),
    "event_place": ("kelola acara", "buat acara baru", "rembuk warga", "1", "Sabtu jam 8 malam"),
}


@pytest.fixture(scope="module")
def koordinator(app) -> str:
    from bot.roles_admin import grant_role

    address = onboard_until_menu(app)
    with app.sessions.begin() as session:
        grant_role(session, address, "koordinator", None)
    return address


@pytest.mark.parametrize("case", HOSTILE)
@pytest.mark.parametrize("where", STAFF_STEPS)
def test_hostile_text_in_staff_tools(app, koordinator, where, case):
    for text in STAFF_STEPS[where]:
        before = send(app, koordinator, text)
    flow, step = before[-1]["flow"], before[-1]["step"]

    replies = send(app, koordinator, HOSTILE[case])

    assert_polite(replies)
    assert_database_intact(app)
    assert replies[-1]["flow"] == flow  # still in the tool, at this step or the next
    assert step
    follow_up = send(app, koordinator, "batal")
    assert_polite(follow_up)
    assert (follow_up[-1]["flow"], follow_up[-1]["step"]) == ("help", "menu")
