"""Reaching every resident who consented: a resident imported from the RT's list with a
phone number gets announcements and invitations on the installation's phone channels
(WhatsApp, then SMS) from the moment of import; an address a platform refused is
skipped for the next channel; previews and confirmations say how many get it, on which
channel, and how many cannot be reached and why — the same numbers as what is sent."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select, update

from bot.app import build_app
from bot.cli import main
from bot.residents_import import import_residents
from bot.roles_admin import grant_role
from bot.settings import load_settings
from db.models import Identity, Outbox, Resident
from tests.test_event_admin_create import create
from tests.transcript import Kampung

KOOR = "+6281234567005"
SITI, AGUS = "+6281234567101", "+6281234567102"
LIST = "phone,name,rt\n0812 3456 7101,Siti Rahayu,4\n0812-3456-7102,Agus Salim,4\n"
TWILIO = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "secret",
          "TWILIO_WHATSAPP_FROM": "whatsapp:+14155238886", "PUBLIC_BASE_URL": "https://bot.example.org"}


def make_app(tmp_path, clock, **environ: str):
    settings = load_settings(env_file=None, environ={"DATABASE_URL": f"sqlite:///{tmp_path}/kampung.db",
                                                     "DATA_DIR": str(tmp_path / "data"), **environ})
    return build_app(settings, clock=clock)


@pytest.fixture
def twilio_app(tmp_path, clock):
    app = make_app(tmp_path, clock, **TWILIO)
    yield app
    app.engine.dispose()


@pytest.fixture
def sms_app(tmp_path, clock):
    app = make_app(tmp_path, clock, **TWILIO, TWILIO_SMS_FROM="+14155550100")
    yield app
    app.engine.dispose()


def imported(app, csv: str = LIST) -> None:
    """The RT head's list, consent collected on paper."""
    with app.sessions.begin() as session:
        report = import_residents(session, io.StringIO(csv), consent_collected=True, now=app.clock.now())
    assert report.errors == []


def koordinator(app):
    """Bu Ani of RT 05, koordinator, on WhatsApp."""
    ani = Kampung(app).resident(f"whatsapp:{KOOR}")
    ani.onboard(name="Bu Ani", rt="5")
    with app.sessions.begin() as session:
        grant_role(session, KOOR, "koordinator", None)
    return ani


def announce(staff, audience: str = "semua warga"):
    """Up to the preview of "sekarang"."""
    staff.says("kirim pengumuman")
    staff.says("Kerja bakti Minggu jam 7 pagi di gang 3")
    staff.says(audience)
    return staff.says("sekarang").at("broadcast", "preview")


def rows(app) -> list[tuple[str, str, str]]:
    """Announcement rows: (channel, address, recipient's name)."""
    with app.engine.connect() as conn:
        found = conn.execute(select(Outbox.channel, Outbox.address, Resident.name, Outbox.payload)
                             .join(Resident, Resident.id == Outbox.resident_id).order_by(Outbox.id)).all()
    return [(c, a, n) for c, a, n, p in found if "📢" in p["text"]]


def identities(app) -> list[tuple[str, str]]:
    with app.engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(Identity.channel, Identity.address)))


def mark(app, address: str, failure: str) -> None:
    """A platform said this address is dead (as the dispatcher records it)."""
    with app.engine.begin() as conn:
        conn.execute(update(Identity).where(Identity.address == address).values(unreachable=failure))


def test_an_imported_resident_gets_the_announcement_on_whatsapp_at_their_phone(twilio_app):
    imported(twilio_app)
    ani = koordinator(twilio_app)
    preview = announce(ani)
    preview.hears("Untuk: semua warga, 3 warga (WhatsApp 3)")
    assert "Tidak terjangkau" not in preview.text
    ani.says("kirim").hears("Pengumuman #1 sedang dikirim ke semua warga: 3 warga (WhatsApp 3).")
    assert rows(twilio_app) == [("whatsapp", SITI, "Siti Rahayu"), ("whatsapp", AGUS, "Agus Salim"),
                                ("whatsapp", KOOR, "Bu Ani")]
    # Created with the message, so receipts and WhatsApp's window have a row to mark ...
    assert identities(twilio_app) == [("whatsapp", KOOR), ("whatsapp", SITI), ("whatsapp", AGUS)]
    # ... and Siti is recognised when she answers, with her name from the list.
    Kampung(twilio_app).resident(f"whatsapp:{SITI}").says("menu").hears("Siti Rahayu")
    assert len(identities(twilio_app)) == 3


def test_without_twilio_the_preview_says_who_cannot_be_reached_and_why(app):
    imported(app)
    ani = koordinator(app)
    announce(ani).hears("Untuk: semua warga, 1 warga (WhatsApp 1)\n"
                        "• Tidak terjangkau: 2 warga (2 belum pernah chat dengan bot, dan WhatsApp/SMS bot belum "
                        "disiapkan)\n• Dilewati: 0 warga yang minta STOP")
    ani.says("kirim").hears("semua warga: 1 warga (WhatsApp 1). 2 warga tidak terjangkau (2 belum pernah chat "
                            "dengan bot, dan WhatsApp/SMS bot belum disiapkan).")
    assert rows(app) == [("whatsapp", KOOR, "Bu Ani")]


def test_a_number_not_on_whatsapp_gets_it_by_sms(sms_app):
    imported(sms_app)
    ani = koordinator(sms_app)
    Kampung(sms_app).resident(f"whatsapp:{SITI}").says("halo")  # Siti wrote once on WhatsApp
    mark(sms_app, SITI, "not_on_whatsapp")
    announce(ani).hears("semua warga, 3 warga (WhatsApp 2, SMS 1)")
    ani.says("kirim")
    assert ("sms", SITI, "Siti Rahayu") in rows(sms_app)
    assert ("sms", SITI) in identities(sms_app)


def test_every_address_refused_is_said_as_such(twilio_app):
    imported(twilio_app, "phone,name,rt\n0812 3456 7101,Siti Rahayu,4\n")
    ani = koordinator(twilio_app)
    darmi = Kampung(twilio_app).resident("telegram:5150")
    darmi.onboard(name="Mbah Darmi", rt="4")
    mark(twilio_app, "5150", "blocked")
    announce(ani).hears("semua warga, 2 warga (WhatsApp 2)\n• Tidak terjangkau: 1 warga (1 pesannya ditolak")
    ani.says("kirim")
    assert [name for _, _, name in rows(twilio_app)] == ["Siti Rahayu", "Bu Ani"]


def test_stop_comes_before_any_channel(twilio_app):
    imported(twilio_app)
    ani = koordinator(twilio_app)
    with twilio_app.engine.begin() as conn:
        conn.execute(update(Resident).where(Resident.phone == AGUS).values(opted_out=True))
    announce(ani).hears("semua warga, 2 warga (WhatsApp 2)", "Dilewati: 1 warga yang minta STOP")


def test_event_invitations_count_what_is_sent(app):
    imported(app)
    ani = koordinator(app)
    create(ani).hears("Diundang: Semua warga (1 warga akan menerima undangan)")
    ani.says("simpan").hears("Undangan terkirim ke 1 warga (Semua warga). 2 warga tidak terjangkau (2 belum pernah "
                             "chat dengan bot, dan WhatsApp/SMS bot belum disiapkan); sampaikan langsung ya.")


def test_event_invitations_reach_imported_residents_with_twilio(twilio_app):
    imported(twilio_app)
    ani = koordinator(twilio_app)
    create(ani).hears("Diundang: Semua warga (3 warga akan menerima undangan)")
    ani.says("simpan").hears("Undangan terkirim ke 3 warga (Semua warga). Pengingat")


def test_kampung_broadcasts_send_says_the_reach(tmp_path, monkeypatch, capsys, clock):
    url = f"sqlite:///{tmp_path}/kampung.db"
    monkeypatch.setenv("DATABASE_URL", url)
    app = make_app(tmp_path, clock)
    imported(app)
    app.engine.dispose()
    assert main(["--env-file", "/nonexistent", "broadcasts", "send", "--audience", "rt:4", "--text", "Air mati"]) == 0
    assert capsys.readouterr().out == (
        "Pengumuman #1 sedang dikirim ke warga RT 04: 0 warga. 2 warga tidak terjangkau (2 belum pernah chat dengan "
        "bot, dan WhatsApp/SMS bot belum disiapkan). 0 warga dilewati karena minta STOP. Ringkasannya menyusul ✅\n")
    for name, value in TWILIO.items():
        monkeypatch.setenv(name, value)
    assert main(["--env-file", "/nonexistent", "broadcasts", "send", "--audience", "rt:4", "--text", "Air mati lagi",
                 "--at", "besok jam 9 pagi"]) == 0
    out = capsys.readouterr().out
    assert "Pengumuman #2 untuk warga RT 04 akan dikirim" in out
    assert out.endswith("Saat ini: 2 warga (WhatsApp 2), 0 minta STOP.\n")
