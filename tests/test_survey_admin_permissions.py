"""Who may manage surveys: residents are refused (router, via Flow.roles); an RT head
sees surveys that reach their RT only, cannot close a kampung-wide survey, and the
read view and effect handlers check scope again whatever the flow asked."""
from __future__ import annotations

from sqlalchemy import select

from bot.features import EffectContext
from bot.residents import load_info
from bot.survey_admin import SurveyAdminView, close, export_responses, publish, remind, send_charts
from db.models import Outbox
from db.surveys import Survey
from flows.survey_admin import CloseSurvey, ExportSurvey, RemindSurvey, SendSurveyCharts
from flows.survey_builder import PublishSurvey
from tests.test_survey_admin_create import (ANI, JOKO, SRI, create_survey, koordinator, pak_rt,  # noqa: F401
                                            stored_surveys, warga)


def test_residents_are_refused_however_they_ask(sri, app):
    sri.says("kelola survei").hears("khusus pengurus").at("help", "menu")
    sri.says("hasil survei").hears("khusus pengurus").at("help", "menu")
    assert not any("Survei: buat" in c for c in sri.says("menu").choices)


def test_staff_find_surveys_in_the_staff_menu(pak_rt):  # noqa: F811
    pak_rt.says("menu pengurus").offers("Survei: buat, lihat hasil, unduh")
    pak_rt.says("survei: buat, lihat hasil, unduh").at("survey_admin", "list")


def info(conn, phone: str):
    return load_info(conn, "whatsapp", phone)[0]


def ectx(app, conn, phone: str, clock) -> EffectContext:
    return EffectContext(conn, info(conn, phone), clock.now(), app.core.notifier, app.settings)


def test_an_rt_head_does_not_see_another_rts_survey(warga, koordinator, pak_rt, app, clock):  # noqa: F811
    create_survey(koordinator, title="Survei RT 05", audience="RT 05", questions=[("ya tidak", "Ikut?", None)])
    create_survey(koordinator, title="Survei semua", questions=[("ya tidak", "Ikut?", None)])
    replies = pak_rt.says("kelola survei").hears("Survei semua")
    assert "Survei RT 05" not in replies.text
    assert "Tutup survei sekarang" not in pak_rt.says("1").choices  # kampung-wide: not theirs to close
    rt05 = next(s.id for s in stored_surveys(app) if s.title == "Survei RT 05")
    with app.engine.connect() as conn:
        view = SurveyAdminView(conn, info(conn, JOKO), clock.now(), app.settings)
        assert view.get(rt05) is None and view.results(rt05) is None and view.pending(rt05) == 0
        assert [s.title for s in view.surveys()] == ["Survei semua"]
        resident_view = SurveyAdminView(conn, info(conn, SRI), clock.now(), app.settings)
        assert resident_view.surveys() == [] and resident_view.get(rt05) is None


def test_effect_handlers_check_scope_again(warga, koordinator, pak_rt, app, clock):  # noqa: F811
    create_survey(koordinator, title="Survei RT 05", audience="RT 05", questions=[("ya tidak", "Ikut?", None)])
    create_survey(koordinator, title="Survei semua", questions=[("ya tidak", "Ikut?", None)])
    ids = {s.title: s.id for s in stored_surveys(app)}
    with app.engine.begin() as conn:
        before = conn.scalar(select(Outbox.id).order_by(Outbox.id.desc()).limit(1))
        for phone in (SRI, JOKO):
            context = ectx(app, conn, phone, clock)
            for handler, effect in ((remind, RemindSurvey(ids["Survei RT 05"])), (close, CloseSurvey(ids["Survei RT 05"])),
                                    (export_responses, ExportSurvey(ids["Survei RT 05"], "xlsx")),
                                    (send_charts, SendSurveyCharts(ids["Survei RT 05"]))):
                assert [s.key for s in handler(context, effect)] == ["survey_admin.gone"], (phone, handler)
        joko = ectx(app, conn, JOKO, clock)
        assert [s.key for s in close(joko, CloseSurvey(ids["Survei semua"]))] == ["survey_admin.gone"]
        draft = {"title": "Untuk semua", "description": "", "audience": "all", "closes": "2026-12-01T00:00:00+00:00",
                 "questions": [{"type": "yesno", "text": "Ikut?"}]}
        assert [s.key for s in publish(joko, PublishSurvey(draft))] == ["survey_admin.audience_not_allowed"]
        assert [s.key for s in publish(ectx(app, conn, SRI, clock), PublishSurvey({**draft, "audience": "rt:04"}))] \
            == ["survey_admin.audience_not_allowed"]
        assert conn.scalar(select(Outbox.id).order_by(Outbox.id.desc()).limit(1)) == before
        assert conn.scalar(select(Survey.closes_at).where(Survey.id == ids["Survei semua"])) > clock.now()
    assert len(stored_surveys(app)) == 2


def test_a_draft_with_a_bad_field_is_refused_by_the_same_checks_as_a_file(koordinator, app, clock):  # noqa: F811
    with app.engine.begin() as conn:
        draft = {"title": "Pilihan", "description": "", "audience": "all", "closes": "2026-12-01T00:00:00+00:00",
                 "questions": [{"type": "single", "text": "Pilih?", "options": ["Satu"]}]}
        [said] = publish(ectx(app, conn, ANI, clock), PublishSurvey(draft))
    assert said.key == "survey_admin.publish_refused" and said.params["problem"].key == "survey.file.few_options"
    assert stored_surveys(app) == []
