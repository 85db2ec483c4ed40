"""Publishing invites the survey's audience (STOP skipped), in chat and with
`kampung surveys add`; "ingatkan" sends one reminder to those in scope who have not
finished, once; closing early."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import yaml
from sqlalchemy import select

from bot import cli
from bot.app import build_app
from bot.settings import load_settings
from db.models import Outbox
from db.surveys import Survey, SurveyReminder
from tests.test_survey_admin_create import (ANI, BUDI, JOKO, SRI, WATI, create_survey, koordinator, pak_rt,  # noqa: F401
                                            warga)
from tests.transcript import Kampung


def outbox(app, fragment: str) -> list[str]:
    """Addresses of the outbox messages containing `fragment`."""
    with app.engine.connect() as conn:
        rows = conn.execute(select(Outbox.address, Outbox.payload).order_by(Outbox.id)).all()
    return [address for address, payload in rows if fragment in payload["text"]]


def test_publishing_invites_the_audience_but_not_those_who_said_stop(warga, koordinator, pak_rt, app):  # noqa: F811
    create_survey(koordinator).hears("Undangan dikirim ke 4 warga (1 tidak dikirimi")
    assert sorted(outbox(app, "Ada survei baru untuk Anda: *Kerja bakti Desember*")) == sorted([SRI, BUDI, JOKO, ANI])
    assert WATI not in outbox(app, "Ada survei baru")
    with app.engine.connect() as conn:
        texts = [p["text"] for p in conn.scalars(select(Outbox.payload)) if "Ada survei baru" in p["text"]]
    assert "Balas *survei* untuk mengisi" in texts[0] and "7 pertanyaan" in texts[0]


def test_an_rt_survey_invites_only_that_rt(warga, koordinator, app):  # noqa: F811
    create_survey(koordinator, audience="RT 05").hears("Undangan dikirim ke 2 warga")
    assert sorted(outbox(app, "Ada survei baru")) == sorted([BUDI, ANI])


def remind(staff, survey: str = "1"):
    staff.says("kelola survei")
    staff.says(survey)
    return staff.says("ingatkan")


def test_ingatkan_reminds_those_who_have_not_finished_only_once(warga, koordinator, pak_rt, app, clock):  # noqa: F811
    create_survey(koordinator, questions=[("ya tidak", "Ikut kerja bakti?", None)])
    warga["sri"].says("survei")
    warga["sri"].says("ya").hears("Terima kasih")
    remind(koordinator).hears("Kirim pengingat survei *Kerja bakti Desember* ke 3 warga").at(
        "survey_admin", "remind_confirm")
    koordinator.says("ya").hears("Pengingat sudah dikirim ke 3 warga", "(1 warga tidak dikirimi").at(
        "survey_admin", "actions")
    assert sorted(outbox(app, "Pengingat: survei *Kerja bakti Desember*")) == sorted([BUDI, JOKO, ANI])
    clock.set(clock.now() + timedelta(hours=2))
    koordinator.says("ingatkan").hears("sudah dikirim Minggu, 22 November 2026 pukul 10.00 WIB ke 3 warga",
                                       "hanya dikirim sekali").at("survey_admin", "actions")
    remind(pak_rt).hears("sudah dikirim Minggu, 22 November 2026 pukul 10.00 WIB").at("survey_admin", "actions")
    assert len(outbox(app, "Pengingat: survei")) == 3


def test_an_rt_heads_reminder_reaches_their_rt_and_the_koordinators_the_rest(warga, koordinator, pak_rt, app):  # noqa: F811
    create_survey(koordinator, questions=[("ya tidak", "Ikut kerja bakti?", None)])
    remind(pak_rt).hears("ke 2 warga")  # Bu Sri and Pak Joko; Bu Wati said STOP
    pak_rt.says("ya").hears("Pengingat sudah dikirim ke 2 warga", "(1 warga tidak dikirimi")
    assert sorted(outbox(app, "Pengingat: survei")) == sorted([SRI, JOKO])
    pak_rt.says("ingatkan").hears("hanya dikirim sekali")
    remind(koordinator).hears("ke 2 warga")  # RT 05: Pak Budi, Bu Ani
    koordinator.says("ya")
    assert sorted(outbox(app, "Pengingat: survei")) == sorted([SRI, JOKO, BUDI, ANI])
    with app.engine.connect() as conn:
        assert sorted(conn.execute(select(SurveyReminder.area, SurveyReminder.recipients)).all()) == [
            ("all", 2), ("rt:04", 2)]


def test_nobody_to_remind_and_tidak_jadi(warga, koordinator, app):  # noqa: F811
    create_survey(koordinator, audience="RT 05", questions=[("ya tidak", "Ikut kerja bakti?", None)])
    remind(koordinator).at("survey_admin", "remind_confirm")
    koordinator.says("tidak").at("survey_admin", "actions")
    assert outbox(app, "Pengingat: survei") == []
    for resident in (warga["budi"], koordinator):
        resident.says("menu")
        resident.says("survei")
        resident.says("ya").hears("Terima kasih")
    remind(koordinator).hears("sudah selesai mengisi", "Tidak ada yang perlu diingatkan")


def test_closing_early_stops_answers(warga, koordinator, app):  # noqa: F811
    create_survey(koordinator, questions=[("ya tidak", "Ikut kerja bakti?", None)])
    koordinator.says("kelola survei")
    koordinator.says("1")
    koordinator.says("tutup survei sekarang").hears("Tutup survei *Kerja bakti Desember* sekarang?").at(
        "survey_admin", "close_confirm")
    koordinator.says("ya").hears("sudah ditutup").at("survey_admin", "actions")
    assert "Tutup survei sekarang" not in koordinator.says("menu pengurus").choices
    warga["sri"].says("survei").hears("belum ada survei")
    with app.engine.connect() as conn:
        assert conn.scalar(select(Survey.closes_at)) == datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)
    koordinator.says("kelola survei").hears("ditutup Minggu, 22 November 2026")


def test_kampung_surveys_add_invites_and_says_how_many(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("DATABASE_URL", url)
    app = build_app(load_settings(env_file=None, environ={"DATABASE_URL": url}))
    try:
        kampung = Kampung(app)
        for phone, rt in ((SRI, "4"), (BUDI, "5"), (WATI, "4")):
            kampung.resident(f"whatsapp:{phone}").onboard(name=f"Warga {phone[-3:]}", rt=rt)
        kampung.resident(f"whatsapp:{WATI}").says("stop")
    finally:
        app.engine.dispose()
    closes = (datetime.now(timezone.utc) + timedelta(days=7)).isoformat(timespec="minutes")
    path = tmp_path / "survei.yaml"
    path.write_text(yaml.safe_dump({"title": "Kerja bakti", "audience": "rt:4", "closes": closes,
                                    "questions": [{"type": "yesno", "text": "Ikut?"}]}), encoding="utf-8")
    assert cli.main(["--env-file", "/nonexistent", "surveys", "add", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Survei nomor 1 ditambahkan" in out and "Undangan dikirim ke 1 warga (1 tidak dikirimi" in out
    app = build_app(load_settings(env_file=None, environ={"DATABASE_URL": url}))
    try:
        assert outbox(app, "Ada survei baru untuk Anda: *Kerja bakti*") == [SRI]
    finally:
        app.engine.dispose()


def test_invitations_and_reminders_written_in_quiet_hours_wait_for_the_morning(warga, koordinator, app, clock):  # noqa: F811
    clock.set(datetime(2026, 11, 22, 15, 30, tzinfo=timezone.utc))  # 22.30 WIB
    replies = create_survey(koordinator, questions=[("ya tidak", "Ikut kerja bakti?", None)], publish=False)
    replies.hears("jam istirahat warga: undangannya menunggu dan baru dikirim Senin, 23 November 2026 pukul 06.00 WIB")
    koordinator.says("terbitkan").hears("sudah diterbitkan")
    morning = datetime(2026, 11, 22, 23, 0, tzinfo=timezone.utc)  # 06.00 WIB
    assert waiting_until(app, "Ada survei baru") == [morning] * 3
    clock.set(morning + timedelta(hours=2))
    koordinator.says("kelola survei")
    koordinator.says("1")
    assert "jam istirahat" not in koordinator.says("ingatkan").text
    koordinator.says("tidak")
    clock.set(datetime(2026, 11, 23, 14, 30, tzinfo=timezone.utc))  # 21.30 WIB
    koordinator.says("ingatkan").hears("pengingatnya menunggu dan baru dikirim Selasa, 24 November 2026 pukul 06.00 WIB")


def waiting_until(app, fragment: str) -> list[datetime]:
    with app.engine.connect() as conn:
        return [nb for p, nb in conn.execute(select(Outbox.payload, Outbox.not_before).order_by(Outbox.id))
                if fragment in p["text"]]


def test_invitations_and_reminders_are_in_each_residents_language(kampung, koordinator, app):  # noqa: F811
    darmi = kampung.resident("telegram:5150")
    darmi.onboard(name="Mbah Darmi", language="3")
    create_survey(koordinator, questions=[("ya tidak", "Ikut kerja bakti?", None)])
    with app.engine.connect() as conn:
        to_darmi = [p["text"] for a, p in conn.execute(select(Outbox.address, Outbox.payload)) if a == "5150"]
    assert any("Ana survei anyar kanggo panjenengan: *Kerja bakti Desember*" in t and "Wangsuli *survei*" in t
               for t in to_darmi)
    remind(koordinator)
    koordinator.says("ya")
    assert outbox(app, "Pangéling: survei *Kerja bakti Desember* durung rampung") == ["5150"]
    darmi.says("survei").hears("Kerja bakti Desember")


def test_the_survey_and_its_reminder_outlive_the_staff_member_who_erased_their_data(warga, koordinator, app):  # noqa: F811
    from bot.residents import erase_resident
    from db.models import Resident

    create_survey(koordinator, questions=[("ya tidak", "Ikut kerja bakti?", None)])
    remind(koordinator)
    koordinator.says("ya").hears("Pengingat sudah dikirim")
    with app.engine.begin() as conn:
        erase_resident(conn, conn.scalar(select(Resident.id).where(Resident.phone == ANI)))
    with app.engine.connect() as conn:
        assert conn.execute(select(Survey.title, Survey.created_by)).all() == [("Kerja bakti Desember", None)]
        assert conn.execute(select(SurveyReminder.area, SurveyReminder.sent_by)).all() == [("all", None)]


def test_of_two_staff_pressing_ingatkan_at_once_only_one_sends(warga, koordinator, app, clock, monkeypatch):  # noqa: F811
    """The other's check ran before the first reminder was stored (two workers on
    PostgreSQL); the unique reminder row decides, and the second is told it went."""
    create_survey(koordinator, questions=[("ya tidak", "Ikut kerja bakti?", None)])
    remind(koordinator)
    koordinator.says("ya").hears("Pengingat sudah dikirim")
    from bot import survey_admin
    from bot.features import EffectContext
    from bot.residents import load_info
    from flows.survey_admin import RemindSurvey

    real, calls = survey_admin.reminder_for, []

    def not_yet_the_first_time(*args):
        calls.append(args)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(survey_admin, "reminder_for", not_yet_the_first_time)
    with app.engine.begin() as conn:
        ani = load_info(conn, "whatsapp", ANI)[0]
        [said] = survey_admin.remind(EffectContext(conn, ani, clock.now(), app.core.notifier, app.settings),
                                     RemindSurvey(1))
    assert said.key == "survey_admin.remind_once" and len(calls) == 2
    assert len(outbox(app, "Pengingat: survei")) == 3
