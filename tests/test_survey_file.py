"""Survey files: the shipped example, every kind of mistake named by its path, and
`kampung surveys add` with its exit codes."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot import cli
from bot.app import build_app
from bot.i18n import Catalog
from bot.settings import load_settings
from bot.surveys import SurveyFileError, parse_survey, read_survey_file
from db.surveys import Survey
from flows.base import KampungInfo

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "surveys" / "contoh-survei.yaml"
NOW = datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)
KAMPUNG = KampungInfo("Kampung Home Industri", "Purwoyoso", "05", ("01", "02", "03", "04", "05"),
                      ("Karang Taruna", "PKK RW 05"))
CATALOG = Catalog()


def valid() -> dict:
    return {
        "title": "Kerja bakti",
        "audience": "all",
        "closes": "2026-12-05 20:00",
        "questions": [
            {"type": "yesno", "text": "Ikut kerja bakti?"},
            {"type": "single", "text": "Kapan?", "options": ["Minggu pagi", "Sabtu sore"]},
            {"type": "number", "text": "Berapa orang?", "min": 0, "max": 20},
        ],
    }


def parse(data: dict):
    return parse_survey(data, KAMPUNG, NOW, "Asia/Jakarta")


def test_the_example_file_is_a_valid_survey_of_every_question_type():
    spec = read_survey_file(str(EXAMPLE), KAMPUNG, NOW, "Asia/Jakarta")
    assert spec.audience == "all"
    assert spec.closes_at == datetime(2026, 12, 5, 13, 0, tzinfo=timezone.utc)
    assert [q.type for q in spec.questions] == ["yesno", "single", "multi", "scale", "number", "number", "text"]
    assert [q.id for q in spec.questions] == [f"q{n}" for n in range(1, 8)]
    assert spec.questions[1].options[0] == ("opt1", "Minggu pagi")
    assert spec.description


@pytest.mark.parametrize("value, expected", [
    ("all", "all"), ("semua", "all"), ("rw", "rw"), ("RW:5", "rw"), ("rt:4", "rt:04"), ("RT: 04", "rt:04"),
    ("paguyuban:pkk rw 05", "paguyuban:PKK RW 05"),
])
def test_audiences(value, expected):
    assert parse({**valid(), "audience": value}).audience == expected


@pytest.mark.parametrize("value", [
    "2026-12-05 20:00", "2026-12-05 20.00", "2026-12-05T20:00:00+07:00", "2026-12-05T13:00Z",
    datetime(2026, 12, 5, 20, 0), datetime(2026, 12, 5, 13, 0, tzinfo=timezone.utc),
])
def test_closing_times_are_wib_unless_they_say_otherwise(value):
    assert parse({**valid(), "closes": value}).closes_at == datetime(2026, 12, 5, 13, 0, tzinfo=timezone.utc)


def question(**fields) -> dict:
    return {**valid(), "questions": [{"type": "yesno", "text": "Ikut?"}, fields]}


@pytest.mark.parametrize("data, key, path", [
    ({**valid(), "title": None}, "survey.file.missing", "title"),
    ({**valid(), "tittle": "x"}, "survey.file.unknown_field", "tittle"),
    ({**valid(), "title": ["a"]}, "survey.file.not_text", "title"),
    ({**valid(), "title": "x" * 201}, "survey.file.too_long", "title"),
    ({**valid(), "audience": "rt:42"}, "survey.file.unknown_rt", "audience"),
    ({**valid(), "audience": "rw:07"}, "survey.file.wrong_rw", "audience"),
    ({**valid(), "audience": "paguyuban:Arisan"}, "survey.file.unknown_paguyuban", "audience"),
    ({**valid(), "audience": "warga"}, "survey.file.bad_audience", "audience"),
    ({**valid(), "closes": "besok sore"}, "survey.file.bad_time", "closes"),
    ({**valid(), "closes": "2026-12-05"}, "survey.file.bad_time", "closes"),
    ({**valid(), "closes": "2026-11-01 20:00"}, "survey.file.past_time", "closes"),
    ({**valid(), "closes": None}, "survey.file.missing", "closes"),
    ({**valid(), "questions": []}, "survey.file.no_questions", "questions"),
    ({**valid(), "questions": "Ikut?"}, "survey.file.not_list", "questions"),
    ({**valid(), "questions": ["Ikut?"]}, "survey.file.not_mapping", "questions[1]"),
    (question(type="pilihan", text="Kapan?"), "survey.file.bad_type", "questions[2].type"),
    (question(type="single", text="Kapan?"), "survey.file.missing", "questions[2].options"),
    (question(type="single", text="Kapan?", options=["Minggu"]), "survey.file.few_options", "questions[2].options"),
    (question(type="multi", text="Apa?", options=["Tenaga", "tenaga"]), "survey.file.duplicate_option",
     "questions[2].options[2]"),
    (question(type="single", text="Setuju?", options=[True, False]), "survey.file.not_text", "questions[2].options[1]"),
    (question(type="yesno", text="Ikut?", options=["ya", "tidak"]), "survey.file.unknown_field", "questions[2].options"),
    (question(type="number", text="Berapa?", min=10, max=5), "survey.file.min_above_max", "questions[2].min"),
    (question(type="number", text="Berapa?", max="banyak"), "survey.file.not_number", "questions[2].max"),
    (question(type="text"), "survey.file.missing", "questions[2].text"),
    ("just text", "survey.file.not_survey", ""),
])
def test_bad_fields_are_named_by_their_path(data, key, path):
    with pytest.raises(SurveyFileError) as caught:
        parse(data)
    assert (caught.value.key, caught.value.path) == (key, path)
    text = CATALOG.text("id", caught.value.key, path=caught.value.path, **caught.value.params)
    assert text.startswith(f"{path}:") or not path


def test_unquoted_yes_in_yaml_gets_a_hint(tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text(EXAMPLE.read_text(encoding="utf-8").replace("- Minggu pagi", "- yes"), encoding="utf-8")
    with pytest.raises(SurveyFileError) as caught:
        read_survey_file(str(bad), KAMPUNG, NOW, "Asia/Jakarta")
    assert caught.value.path == "questions[2].options[1]"
    assert "tanda kutip" in CATALOG.text("id", caught.value.key, path=caught.value.path)


def test_broken_yaml_names_the_line(tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text('title: "Kerja bakti\naudience: all\n', encoding="utf-8")
    with pytest.raises(SurveyFileError) as caught:
        read_survey_file(str(bad), KAMPUNG, NOW, "Asia/Jakarta")
    assert caught.value.key == "survey.file.not_yaml" and caught.value.params["line"] >= 1


def survey_file(tmp_path, **overrides) -> Path:
    """A survey file closing a week from the real now (the CLI runs on the system clock)."""
    closes = (datetime.now(timezone.utc) + timedelta(days=7)).isoformat(timespec="minutes")
    path = tmp_path / "survei.yaml"
    path.write_text(yaml.safe_dump({**valid(), "closes": closes, **overrides}, allow_unicode=True), encoding="utf-8")
    return path


def test_cli_adds_a_survey_and_refuses_bad_files_with_status_2(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("DATABASE_URL", url)
    base = ["--env-file", "/nonexistent", "surveys", "add"]

    assert cli.main(base + [str(survey_file(tmp_path, audience="rt:4"))]) == 0
    out = capsys.readouterr().out
    assert "Survei nomor 1 ditambahkan" in out and "3 pertanyaan" in out and "warga RT 04" in out and "WIB" in out

    assert cli.main(base + [str(survey_file(tmp_path, audience="rt:4"))]) == 2
    assert "masih dibuka (nomor 1)" in capsys.readouterr().err

    assert cli.main(base + [str(survey_file(tmp_path, title="Lain", audience="rt:99"))]) == 2
    err = capsys.readouterr().err
    assert "belum ditambahkan" in err and "audience: RT 99 tidak ada" in err

    assert cli.main(base + [str(tmp_path / "tidak-ada.yaml")]) == 2
    assert "tidak bisa dibuka" in capsys.readouterr().err

    app = build_app(load_settings(env_file=None, environ={"DATABASE_URL": url}))
    with app.engine.connect() as conn:
        assert conn.execute(select(Survey.title, Survey.audience)).all() == [("Kerja bakti", "rt:04")]
    app.engine.dispose()
