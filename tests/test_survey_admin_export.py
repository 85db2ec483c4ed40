"""Survey responses as files: XLSX (opened with openpyxl) and CSV (read with csv)
with exact cells, sent in chat (an RT head's file holds only their RT) and written
by `kampung surveys export ID --format xlsx|csv [--output FILE] [--rt NN]`."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main
from tests.test_survey_admin_create import create_survey, koordinator, pak_rt, warga  # noqa: F401
from tests.test_survey_admin_results import answered  # noqa: F401

HEADER = ["Nama", "RT", "Selesai mengisi (WIB)", "1. Apakah selokan depan rumah pernah mampet?",
          "2. Kapan kerja bakti paling cocok?", "3. Apa yang bisa Anda sumbangkan?", "4. Seberapa bersih RT Anda?",
          "5. Berapa orang yang bisa ikut?", "6. Iuran sebulan yang pantas (rupiah)?", "7. Ada usul?"]
SRI_ROW = ["Bu Sri", "04", "2026-11-22 10:00", "Ya", "Sabtu sore", "Tenaga; Makanan", 4, 3, 20000,
           "Selokan gang 3 dikeruk"]
BUDI_ROW = ["Pak Budi", "05", "2026-11-22 10:30", "Tidak", "Minggu pagi", "Tenaga", 2, 5, 10000,
            "Tambah tempat sampah"]
WATI_ROW = ["Bu Wati", "04", None, "Ya", None, None, None, None, None, None]


def as_csv(row: list) -> list[str]:
    return ["" if v is None else str(v) for v in row]


def read_xlsx(path: Path) -> list[list]:
    sheet = load_workbook(path).active
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def document(replies) -> Path:
    [path] = [Path(m["document_path"]) for m in replies.messages if m["document_path"]]
    assert path.is_file()
    return path


def open_survey(staff):
    staff.says("kelola survei")
    return staff.says("1")


def test_the_koordinator_gets_every_response_as_xlsx_in_chat(answered, koordinator, settings):  # noqa: F811
    open_survey(koordinator)
    replies = koordinator.says("excel").hears("file jawaban survei *Kerja bakti Desember* (Excel): 3 warga dari semua RT")
    path = document(replies)
    assert path.suffix == ".xlsx" and path.parent == Path(settings.data_dir) / "exports"
    assert read_xlsx(path) == [HEADER, SRI_ROW, BUDI_ROW, WATI_ROW]


def test_an_rt_heads_csv_holds_only_their_rt(answered, pak_rt):  # noqa: F811
    open_survey(pak_rt)
    replies = pak_rt.says("unduh csv").hears("(CSV): 2 warga dari RT 04")
    assert read_csv(document(replies)) == [HEADER, as_csv(SRI_ROW), as_csv(WATI_ROW)]


@pytest.fixture
def desk(monkeypatch, settings, capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "desk"))

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--env-file", "/nonexistent", "surveys", "export", *argv])
        captured = capsys.readouterr()
        return code, captured.out.strip(), captured.err.strip()

    return run


def test_cli_writes_csv_and_xlsx(answered, desk, tmp_path):  # noqa: F811
    out = tmp_path / "survei.csv"
    assert desk("1", "--format", "csv", "--output", str(out)) == (
        0, f"3 jawaban survei \"Kerja bakti Desember\" ditulis ke {out}", "")
    assert read_csv(out) == [HEADER, as_csv(SRI_ROW), as_csv(BUDI_ROW), as_csv(WATI_ROW)]
    code, said, _ = desk("1")  # xlsx by default, under DATA_DIR/exports
    written = Path(said.rsplit(" ", 1)[1])
    assert code == 0 and written.parent == tmp_path / "desk" / "exports" and written.suffix == ".xlsx"
    assert read_xlsx(written) == [HEADER, SRI_ROW, BUDI_ROW, WATI_ROW]


def test_cli_export_of_one_rt(answered, desk, tmp_path):  # noqa: F811
    out = tmp_path / "rt05.xlsx"
    assert desk("1", "--format", "xlsx", "--output", str(out), "--rt", "5")[0] == 0
    assert read_xlsx(out) == [HEADER, BUDI_ROW]


def test_cli_refuses_an_unknown_survey_or_rt_with_status_2(answered, desk, tmp_path):  # noqa: F811
    assert desk("7", "--format", "csv", "--output", str(tmp_path / "x.csv")) == (2, "", "Survei nomor 7 tidak ada.")
    assert desk("1", "--rt", "99") == (2, "", "RT 99 tidak ada di kampung ini.")
    assert not (tmp_path / "x.csv").exists()
    with pytest.raises(SystemExit) as caught:
        desk("1", "--format", "pdf")
    assert caught.value.code == 2


def test_cli_lists_surveys_with_their_numbers(answered, monkeypatch, settings, capsys):  # noqa: F811
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert main(["--env-file", "/nonexistent", "surveys", "list"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("1. Kerja bakti Desember — untuk semua warga — ")
    assert out.endswith("— 2 dari 5 warga selesai mengisi")
