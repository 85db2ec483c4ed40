"""`kampung businesses gap|list`: the licence gap as the coordinator sees it."""
from __future__ import annotations

import pytest

from bot.cli import main
from tests.test_business_support import register


@pytest.fixture
def registered(kampung, settings, monkeypatch):
    """Three businesses; the CLI reads the same database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    sri = kampung.resident("whatsapp:+6281234567001")
    sri.onboard()
    register(sri, licences=("sudah", "sudah", "sudah", "belum", "belum"))  # risk-based NIB, PIRT
    register(sri, name="Jahit Bu Sri", category="jahit", products="jahit baju", licences=("belum", "belum"),
             listing="tidak")
    tini = kampung.resident("whatsapp:+6281234567002")
    tini.onboard(name="Bu Tini", rt="2")
    register(tini, name="Warung Bu Tini", category="sembako", products="beras, minyak, gas",
             licences=("sudah", "belum", "sudah"))  # old NIB, HAKI


def run(capsys, *args) -> str:
    assert main(["--env-file", "/nonexistent", "businesses", *args]) == 0
    return capsys.readouterr().out


def test_gap_counts_each_licence(registered, capsys):
    out = run(capsys, "gap")
    assert "Usaha terdaftar: 3 (2 tampil di daftar kampung)" in out
    assert "NIB berbasis risiko (OSS): 1 dari 3" in out
    assert "belum punya NIB: 1" in out and "NIB lama / belum jelas: 1" in out
    assert "PIRT: 1 dari 1 usaha makanan/rumahan" in out
    assert "Halal: 0 dari 1" in out
    assert "HAKI (merek): 1 dari 3" in out


def test_list_shows_whom_to_help_with_what(registered, capsys):
    lines = run(capsys, "list").splitlines()
    assert len(lines) == 3
    keripik = next(line for line in lines if "Keripik Bu Sri" in line)
    assert "Bu Sri, RT 04, Makanan / minuman, pesan: +6281234567001 — belum: halal, HAKI" in keripik
    assert lines[0].startswith("#") and "Warung Bu Tini" in lines[0]  # RT 02 first


def test_list_filters_by_missing_licence(registered, capsys):
    out = run(capsys, "list", "--missing", "nib_rba")
    assert "Warung Bu Tini" in out and "Keripik" not in out and "Jahit" not in out
    assert "Tidak ada usaha yang cocok" in run(capsys, "list", "--missing", "pirt")


def test_gap_on_an_empty_kampung(settings, monkeypatch, capsys, app):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert "Usaha terdaftar: 0" in run(capsys, "gap")
