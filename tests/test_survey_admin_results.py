"""Live survey results in chat: exact counts and percentages per question, averages,
the latest text answers without names, response rate per RT, bar-chart PNGs per
question; an RT head sees only the replies of their own RT."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.test_survey_admin_create import create_survey, koordinator, pak_rt, warga  # noqa: F401

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def answer(resident, *texts):
    resident.says("survei")
    for text in texts:
        replies = resident.says(text)
    return replies


@pytest.fixture
def answered(warga, koordinator, pak_rt, clock):  # noqa: F811
    """Bu Ani's survey for everyone: Bu Sri (RT 04) and, later, Pak Budi (RT 05)
    finished it; Bu Wati (RT 04) answered the first question only."""
    create_survey(koordinator).hears("sudah diterbitkan")
    answer(warga["sri"], "ya", "2", "1, 3", "4", "3", "20000", "Selokan gang 3 dikeruk").hears("Terima kasih")
    clock.set(clock.now() + timedelta(minutes=30))
    answer(warga["budi"], "tidak", "1", "1", "2", "5", "10rb", "Tambah tempat sampah").hears("Terima kasih")
    answer(warga["wati"], "ya")
    return warga


def results_of(staff):
    staff.says("kelola survei")
    staff.says("1").at("survey_admin", "survey")
    return staff.says("lihat hasil")


def test_the_koordinator_sees_exact_figures_for_the_whole_kampung(answered, koordinator):  # noqa: F811
    replies = results_of(koordinator).at("survey_admin", "actions")
    replies.hears(
        "Hasil survei *Kerja bakti Desember* (semua RT)", "Selesai mengisi: 2 warga, 1 baru sebagian",
        "Tingkat jawaban: 2 dari 5 warga yang dituju (40%)", "• RT 04: 1 dari 3 (33%)", "• RT 05: 1 dari 2 (50%)",
        "*1. Apakah selokan depan rumah pernah mampet?* (3 menjawab)\n• Ya: 2 (67%)\n• Tidak: 1 (33%)",
        "*2. Kapan kerja bakti paling cocok?* (2 menjawab)\n• Minggu pagi: 1 (50%)\n• Sabtu sore: 1 (50%)",
        "• Tenaga: 2 (100%)\n• Alat (cangkul, sapu): 0 (0%)\n• Makanan: 1 (50%)",
        "• 2: 1 (50%)", "• 4: 1 (50%)", "Rata-rata 3, terkecil 2, terbesar 4",
        "*5. Berapa orang yang bisa ikut?* (2 menjawab)\nRata-rata 4, terkecil 3, terbesar 5",
        "Rata-rata 15.000, terkecil 10.000, terbesar 20.000",
        "jawaban terbaru tanpa nama):\n• \"Tambah tempat sampah\"\n• \"Selokan gang 3 dikeruk\"",
    )
    assert "Bu Sri" not in replies.text and "Pak Budi" not in replies.text
    assert all(len(m["text"]) < 1500 for m in replies.messages)


def test_an_rt_head_sees_only_replies_from_their_rt(answered, pak_rt):  # noqa: F811
    pak_rt.says("kelola survei").hears("Kerja bakti Desember", "1 warga selesai")
    pak_rt.says("1").hears("Selesai mengisi (RT 04): 1 dari 3 warga, 1 baru sebagian")
    replies = pak_rt.says("hasil").hears(
        "(RT 04)", "Selesai mengisi: 1 warga, 1 baru sebagian", "Tingkat jawaban: 1 dari 3 warga yang dituju (33%)",
        "• RT 04: 1 dari 3 (33%)", "(2 menjawab)\n• Ya: 2 (100%)\n• Tidak: 0 (0%)", "\"Selokan gang 3 dikeruk\"")
    assert "RT 05" not in replies.text and "Tambah tempat sampah" not in replies.text


def test_charts_are_one_png_per_question_with_answers(answered, koordinator, settings):  # noqa: F811
    results_of(koordinator)
    replies = koordinator.says("grafik").hears("Grafik pertanyaan 1", "Grafik pertanyaan 6",
                                               "isian bebas tidak dibuat grafik").at("survey_admin", "actions")
    paths = [Path(m["document_path"]) for m in replies.messages if m["document_path"]]
    assert len(paths) == 6
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1000
        assert path.parent == Path(settings.data_dir) / "charts"


def test_long_results_are_split_into_messages_under_the_whatsapp_limit(warga, koordinator):  # noqa: F811
    many = [("pilih satu", f"Pertanyaan panjang nomor {n} " + "tentang kebersihan kampung " * 8,
             ", ".join(f"Pilihan jawaban yang cukup panjang nomor {k}" for k in range(1, 13))) for n in range(1, 9)]
    create_survey(koordinator, questions=many).hears("sudah diterbitkan")
    replies = results_of(koordinator)
    assert len(replies.messages) >= 4
    assert all(len(m["text"]) < 1500 for m in replies.messages)
