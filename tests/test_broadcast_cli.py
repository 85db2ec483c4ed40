"""`kampung broadcasts send|list|cancel` against a real SQLite database (real clock)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import build_app
from bot.cli import main
from bot.settings import load_settings
from db.broadcasts import Broadcast
from db.models import Outbox
from tests.transcript import Kampung


@pytest.fixture
def url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("DATABASE_URL", url)
    app = build_app(load_settings(env_file=None, environ={"DATABASE_URL": url}))
    try:
        kampung = Kampung(app)
        for n, name, rt in ((1, "Bu Sri", "4"), (2, "Pak Budi", "4"), (3, "Bu Wati", "5")):
            kampung.resident(f"whatsapp:+62812345670{n:02d}").onboard(name=name, rt=rt)
        kampung.resident("whatsapp:+6281234567002").says("STOP")
    finally:
        app.engine.dispose()
    return url


def kampung_cli(*args: str) -> int:
    return main(["--env-file", "/nonexistent", "broadcasts", *args])


def stored(url):
    app = build_app(load_settings(env_file=None, environ={"DATABASE_URL": url}))
    try:
        with app.engine.connect() as conn:
            rows = conn.execute(select(Broadcast.__table__).order_by(Broadcast.id)).all()
            texts = [(a, p["text"]) for a, p in conn.execute(select(Outbox.address, Outbox.payload)) if "📢" in p["text"]]
        return rows, texts
    finally:
        app.engine.dispose()


def test_send_now_to_an_rt_skips_stop(url, capsys, monkeypatch):
    monkeypatch.setenv("QUIET_HOURS", "off")
    assert kampung_cli("send", "--audience", "rt:4", "--text", "Air PDAM mati besok pagi") == 0
    out = capsys.readouterr().out
    assert "Pengumuman #1 sedang dikirim ke warga RT 04: 1 warga (WhatsApp 1). 1 warga dilewati karena minta STOP" in out
    rows, texts = stored(url)
    assert [(r.status, r.sender_id, r.sender_role) for r in rows] == [("sending", None, None)]
    assert texts == [("+6281234567001", "📢 Pengumuman dari pengurus kampung:\nAir PDAM mati besok pagi")]


def test_send_at_a_natural_time_and_every_week_then_list_and_cancel(url, capsys):
    assert kampung_cli("send", "--audience", "all", "--text", "Rapat warga", "--at", "besok jam 10 pagi") == 0
    assert "akan dikirim" in capsys.readouterr().out
    assert kampung_cli("send", "--audience", "paguyuban:umkm rw 05", "--text", "Bazar UMKM",
                       "--every", "setiap Jumat jam 16.00", "--photo", "https://example.org/bazar.jpg") == 0
    assert "dikirim setiap Jumat jam 16.00. Yang pertama Jumat," in capsys.readouterr().out
    rows, texts = stored(url)
    assert [(r.status, r.audience, r.rule, r.media_url) for r in rows] == [
        ("scheduled", "all", None, None),
        ("scheduled", "paguyuban:UMKM RW 05", "weekly:4@16:00", "https://example.org/bazar.jpg")]
    assert texts == []
    assert kampung_cli("list") == 0
    out = capsys.readouterr().out
    assert '#2 [terjadwal] paguyuban UMKM RW 05, setiap Jumat jam 16.00: "Bazar UMKM"' in out
    assert '#1 [terjadwal] semua warga' in out
    assert kampung_cli("cancel", "2") == 0
    assert "Pengumuman #2 sudah dibatalkan" in capsys.readouterr().out
    assert kampung_cli("cancel", "2") == 2
    assert "Tidak ada pengumuman terjadwal #2" in capsys.readouterr().out
    assert [r.status for r in stored(url)[0]] == ["scheduled", "cancelled"]


@pytest.mark.parametrize("extra,message", [
    (["--at", "besok jam 11 malam"], "Waktu itu masuk jam tenang. Coba"),
    (["--every", "setiap hari jam 22.00"], "Jadwal itu masuk jam tenang. Coba setiap hari jam 06.00."),
    (["--at", "kemarin jam 8"], "Waktu itu sudah lewat"),
    (["--at", "jam 25"], "Tanggal atau jam itu tidak ada"),
    (["--every", "besok jam 8"], "awali dengan *setiap* atau *tiap*"),
    (["--every", "setiap jumat"], "Jam berapa?"),
    (["--audience", "rt:99"], "Penerima tidak dikenal"),
    (["--audience", "semua"], "Penerima tidak dikenal"),
    (["--photo", "foto.jpg"], "--photo harus berupa tautan http(s)"),
    (["--text", "  "], "terlalu pendek"),
])
def test_bad_input_exits_2_with_a_clear_message(url, capsys, extra, message):
    args = {"--audience": "all", "--text": "Pengumuman kerja bakti"}
    flags = []
    for i in range(0, len(extra), 2):
        if extra[i] in args:
            args[extra[i]] = extra[i + 1]
        else:
            flags += extra[i:i + 2]
    argv = ["send", *[x for kv in args.items() for x in kv], *flags]
    if "--at" not in flags and "--every" not in flags:
        argv += ["--at", "besok jam 9 pagi"]
    assert kampung_cli(*argv) == 2
    assert message in capsys.readouterr().out
    assert stored(url)[0] == []


def test_send_now_inside_quiet_hours_is_refused_at_the_desk(url, capsys, monkeypatch):
    monkeypatch.setenv("QUIET_HOURS", "00:00-23:59")
    assert kampung_cli("send", "--audience", "all", "--text", "Tes tengah malam") == 2
    assert "Sekarang jam tenang" in capsys.readouterr().out
