"""`kampung groups list|create|rename|add|remove|members|link` at the desk."""
from __future__ import annotations

import pytest

from bot.cli import main
from bot.groups import group_chats_for


@pytest.fixture
def desk(sri, settings, monkeypatch):
    """Bu Sri (RT 04) has chatted with the bot; the CLI reads the same database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)


def run(capsys, *args, code: int = 0) -> str:
    assert main(["--env-file", "/nonexistent", "groups", *args]) == code
    return capsys.readouterr().out


def test_create_add_members_rename_remove(desk, capsys, app):
    assert "Paguyuban *Kelompok Tani* sudah dibuat" in run(capsys, "create", "  Kelompok   Tani ")
    assert "Bu Sri sudah masuk paguyuban *Kelompok Tani*" in run(capsys, "add", "kelompok tani", "0812-3456-7001")
    assert "memang sudah anggota" in run(capsys, "add", "Kelompok Tani", "+62 812 3456 7001")
    out = run(capsys, "members", "Kelompok Tani")
    assert "Kelompok Tani: 1 anggota" in out and "Bu Sri, +6281234567001, RT 04" in out
    assert "diganti menjadi *Tani Ngaliyan*" in run(capsys, "rename", "Kelompok Tani", "Tani Ngaliyan")
    assert "Tani Ngaliyan: 1 anggota, 0 grup Telegram" in run(capsys, "list")
    assert "Bu Sri sudah dikeluarkan dari *Tani Ngaliyan*" in run(capsys, "remove", "Tani Ngaliyan", "6281234567001")
    assert "memang bukan anggota" in run(capsys, "remove", "Tani Ngaliyan", "081234567001")


def test_refusals_say_why(desk, capsys):
    assert "Sudah ada paguyuban bernama *PKK RW 05*" in run(capsys, "create", "pkk rw 05", code=2)
    assert "Sudah ada paguyuban bernama *PKK RW 05*" in run(capsys, "rename", "Karang Taruna", "PKK RW 05", code=2)
    out = run(capsys, "add", "Arisan", "081234567001", code=2)
    assert "Paguyuban \"Arisan\" tidak ada" in out and "Karang Taruna, PKK RW 05" in out
    assert "Tidak ada warga dengan nomor 0813 9999 0000" in run(capsys, "add", "PKK RW 05", "0813 9999 0000", code=2)
    assert "bukan nomor HP yang benar" in run(capsys, "add", "PKK RW 05", "bu sri", code=2)
    assert "tidak bisa dipakai" in run(capsys, "create", "7", code=2)


def test_link_a_telegram_group(desk, capsys, app):
    assert "Grup Telegram -1001234567890 sekarang terhubung ke UMKM RW 05" in run(
        capsys, "link", "umkm rw 05", "-1001234567890")
    assert "bukan id grup Telegram" in run(capsys, "link", "UMKM RW 05", "grup umkm", code=2)
    assert "UMKM RW 05: 0 anggota, 1 grup Telegram" in run(capsys, "list")
    with app.engine.connect() as conn:
        assert group_chats_for(conn, "UMKM RW 05") == ["-1001234567890"]
