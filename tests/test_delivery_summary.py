"""The sender's delivery summary, counted from the outbox and its delivery receipts
(outbox.delivery / failure / status, set here as the receipts would set them), and
`kampung broadcasts show N`: each recipient's status, the phone masked."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.broadcasts import recipient_status
from bot.cli import main
from bot.delivery import Failure
from db.models import Outbox, Resident
from flows.unreached import REASON_ORDER
from scheduler.due import DueTasks
from tests.test_reach import TWILIO, imported, koordinator, make_app, mark
from tests.transcript import Kampung

LIST = "phone,name,rt\n" + "".join(f"08123456710{n},{name},4\n" for n, name in enumerate(
    ("Siti Rahayu", "Agus Salim", "Dewi Lestari", "Eko Prasetyo", "Fitri Handayani", "Gito Wibowo", "Hana Putri"),
    start=1))


@pytest.fixture
def app(tmp_path, clock):
    app = make_app(tmp_path, clock, **TWILIO)
    yield app
    app.engine.dispose()


@pytest.fixture
def sent(app):
    """Bu Ani announces to RT 04: seven residents from the list, and Mbah Darmi on Telegram,
    who has blocked the bot (never queued)."""
    imported(app, LIST)
    ani = koordinator(app)
    darmi = Kampung(app).resident("telegram:5150")
    darmi.onboard(name="Mbah Darmi", rt="4")
    mark(app, "5150", "blocked")
    ani.says("kirim pengumuman")
    ani.says("Ronda malam mulai Senin")
    ani.says("rt")
    ani.says("RT 04")
    ani.says("sekarang")
    ani.says("kirim").hears("7 warga (WhatsApp 7). 1 warga tidak terjangkau (1 pesannya ditolak")
    return ani


def receipts(app, **by_name: dict) -> None:
    """Set each named resident's announcement row as its receipts would."""
    with app.engine.begin() as conn:
        for name, values in by_name.items():
            rid = conn.scalar(select(Resident.id).where(Resident.name == name.replace("_", " ")))
            conn.execute(update(Outbox).where(Outbox.resident_id == rid).values(**values))


def summaries(app) -> list[str]:
    with app.engine.connect() as conn:
        return [p["text"] for (p,) in conn.execute(select(Outbox.payload).order_by(Outbox.id))
                if p["text"].startswith("Ringkasan")]


def run_due(app, clock, minutes: float = 0) -> None:
    clock.set(clock.now() + timedelta(minutes=minutes))
    DueTasks.of(app).run(clock.now())


EVERYONE_FINAL = dict(
    Siti_Rahayu={"status": "sent", "delivery": "read"},
    Agus_Salim={"status": "sent", "delivery": "delivered"},
    Dewi_Lestari={"status": "sent", "delivery": "delivered"},
    Eko_Prasetyo={"status": "failed", "failure": "not_on_whatsapp", "error_code": "63003"},
    Fitri_Handayani={"status": "sent", "delivery": "undelivered", "failure": "not_on_whatsapp"},
    Gito_Wibowo={"status": "sent", "delivery": "failed", "failure": "invalid_number", "error_code": "21211"},
    Hana_Putri={"status": "uncertain"},
)


def test_the_summary_counts_delivered_read_and_failed_from_receipts(app, clock, sent):
    run_due(app, clock)
    assert summaries(app) == []  # nothing final yet
    receipts(app, **EVERYONE_FINAL)
    run_due(app, clock, 1)
    assert summaries(app) == [
        "Ringkasan pengumuman #1 untuk warga RT 04:\n"
        "• Sampai: 3 warga (sudah dibaca 1)\n"
        "• Gagal: 3 (2 nomor tidak aktif di WhatsApp; 1 nomor tidak valid)\n"
        "• Tidak terjangkau: 1\n"
        "• Dilewati (STOP): 0\n"
        "• Tidak pasti (bot terhenti saat mengirim): 1"]
    run_due(app, clock, 60)
    assert len(summaries(app)) == 1  # once


def test_held_and_unconfirmed_rows_wait_for_the_bounded_wait(app, clock, sent):
    receipts(app, **{**EVERYONE_FINAL, "Siti_Rahayu": {"status": "held"},
                     "Agus_Salim": {"status": "sent", "delivery": "queued"},
                     "Dewi_Lestari": {"status": "sent", "delivery": "sent"}})
    run_due(app, clock, 29)
    assert summaries(app) == []  # a receipt or the resident's reply may still come
    run_due(app, clock, 1)
    [summary] = summaries(app)
    assert summary.startswith("Ringkasan pengumuman #1 untuk warga RT 04:\n• Sampai: 0 warga (sudah dibaca 0)\n")
    assert summary.endswith("• Dilewati (STOP): 0\n• Terkirim, belum ada kabar: 2\n"
                            "• Menunggu warga membalas (aturan 24 jam WhatsApp): 1\n"
                            "• Tidak pasti (bot terhenti saat mengirim): 1")


def kampung(*args: str) -> int:
    return main(["--env-file", "/nonexistent", "broadcasts", *args])


@pytest.fixture
def desk(app, monkeypatch):
    """`kampung` at the desk, on this app's database and settings."""
    monkeypatch.setenv("DATABASE_URL", app.settings.database_url)
    for name, value in TWILIO.items():
        monkeypatch.setenv(name, value)


def test_broadcasts_show_lists_each_recipient(app, sent, desk, capsys):
    receipts(app, **EVERYONE_FINAL)
    assert kampung("show", "1") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Pengumuman #1 untuk warga RT 04, dikirim Minggu, 22 November 2026 pukul 10.00 WIB:"
    assert lines[1:9] == [
        "• Agus Salim (RT 04) · WhatsApp +62812****7102 · sampai",
        "• Dewi Lestari (RT 04) · WhatsApp +62812****7103 · sampai",
        "• Eko Prasetyo (RT 04) · WhatsApp +62812****7104 · gagal: nomor tidak aktif di WhatsApp",
        "• Fitri Handayani (RT 04) · WhatsApp +62812****7105 · gagal: nomor tidak aktif di WhatsApp",
        "• Gito Wibowo (RT 04) · WhatsApp +62812****7106 · gagal: nomor tidak valid",
        "• Hana Putri (RT 04) · WhatsApp +62812****7107 · tidak pasti",
        "• Mbah Darmi (RT 04) · - · tidak terjangkau",
        "• Siti Rahayu (RT 04) · WhatsApp +62812****7101 · sampai, sudah dibaca",
    ]
    assert lines[9] == "Ringkasan pengumuman #1 untuk warga RT 04:"
    assert "6281234567" not in "\n".join(lines)  # no phone number in full


def test_broadcasts_show_refuses_an_unknown_number_in_one_line(app, desk, capsys):
    assert kampung("show", "7") == 2
    assert capsys.readouterr().out == "Tidak ada pengumuman #7.\n"


def test_broadcasts_show_of_one_not_sent_yet(app, desk, capsys):
    assert kampung("send", "--audience", "rt:4", "--text", "Air mati", "--at", "besok jam 9 pagi") == 0
    capsys.readouterr()
    assert kampung("show", "1") == 2
    assert capsys.readouterr().out == "Pengumuman #1 belum pernah dikirim.\n"


@pytest.mark.parametrize("status, delivery, word", [
    ("pending", "undelivered", "waiting"),  # not on WhatsApp, sent on by SMS: the old receipt no longer counts
    ("held", "failed", "held"),  # outside WhatsApp's window, waiting for the resident
    ("sent", "queued", "sent"), ("sent", None, "sent"), ("sent", "read", "read"), ("sent", "undelivered", "failed"),
    ("failed", None, "failed"), ("uncertain", None, "uncertain"), (None, None, "waiting"),
])
def test_each_row_in_a_word(status, delivery, word):
    assert recipient_status(1, status, delivery) == word
    assert recipient_status(None, None, None) == "unreachable"


def test_every_failure_has_plain_words():
    assert {failure.value for failure in Failure} <= set(REASON_ORDER)
