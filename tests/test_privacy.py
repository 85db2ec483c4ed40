"""UU PDP rights: see, correct and erase one's data."""
from sqlalchemy import func, select

from db.models import Conversation, Identity, Membership, Outbox, Resident


def test_data_saya_shows_everything_stored(kampung):
    sri = kampung.resident("whatsapp:+6281234567001")
    sri.onboard(name="Bu Sri", rt="4")
    sri.says("data saya").hears("Nama: Bu Sri", "+6281234567001", "RT 04 / RW 05", "Paguyuban: -", "whatsapp").at(
        "privacy", "show")


def test_ubah_data_changes_name_rt_groups_and_language(kampung, app):
    sri = kampung.resident()
    sri.onboard()
    sri.says("ubah data").at("privacy", "edit")
    sri.says("nama").at("privacy", "edit_name")
    sri.says("Sri Rahayu").hears("Sudah disimpan", "Nama: Sri Rahayu").at("privacy", "show")
    sri.says("ubah")
    sri.says("rt").at("privacy", "edit_rt")
    sri.says("rt 7").hears("RT 07 / RW 05")
    sri.says("ubah")
    sri.says("paguyuban")
    sri.says("1, 4").hears("Karang Taruna, UMKM RW 05")
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Membership)) == 2


def test_bahasa_switches_language(kampung, app):
    sri = kampung.resident()
    sri.onboard()
    sri.says("bahasa").at("privacy", "language")
    sri.says("english").at("help", "menu")
    with app.sessions() as session:
        assert session.scalars(select(Resident.language)).one() == "en"


def test_hapus_data_saya_needs_confirmation_then_erases(kampung, app):
    sri = kampung.resident()
    sri.onboard()
    sri.says("hapus data saya").hears("Yakin").at("privacy", "erase_confirm")
    sri.says("tidak").hears("tidak dihapus").at("help", "menu")
    sri.says("hapus data saya")
    sri.says("ya").hears("sudah kami hapus").at(None, None)
    with app.sessions() as session:
        for model in (Resident, Identity, Conversation, Membership):
            assert session.scalar(select(func.count()).select_from(model)) == 0
        assert all(row.resident_id is None for row in session.scalars(select(Outbox)))
    sri.says("halo").at("onboarding", "consent")


def test_erasure_removes_what_the_resident_said_and_was_told(kampung, app):
    from db.models import Inbox
    from bot.messages import IncomingMessage

    app.core.receive(IncomingMessage("whatsapp", "+6281234567001", "halo", external_id="twilio:SM1"))
    sri = kampung.resident()
    sri.onboard(name="Bu Sri Rahasia")
    sri.says("hapus data saya")
    sri.says("ya")
    with app.sessions() as session:
        assert session.scalars(select(Inbox.external_id)).all() == ["twilio:SM1"]
        assert session.scalars(select(Inbox.payload)).one() == {}
        texts = [row.payload["text"] for row in session.scalars(select(Outbox))]
        assert len(texts) == 1 and "Rahasia" not in texts[0]
    assert app.core.receive(IncomingMessage("whatsapp", "+6281234567001", "halo", external_id="twilio:SM1")) == []
