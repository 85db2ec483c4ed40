"""Matching what people type to choice ids, global words and intents."""
import pytest

from handlers.understanding import Candidate, clean, match_choice, match_word, normalize, parse_number, score_intents

CONSENT = [Candidate("agree", ("setuju", "ya", "iya", "ok")), Candidate("decline", ("tidak setuju", "tidak", "gak"))]


@pytest.mark.parametrize("text, expected", [
    ("setuju", "agree"), ("Setuju!!", "agree"), ("stju", "agree"), ("setujuuu", "agree"), ("1", "agree"),
    ("no 2", "decline"), ("dua", "decline"), ("tidak setuju", "decline"), ("tdk setuju", "decline"),
    ("gak setuju", "decline"), ("iya", "agree"),
])
def test_consent_answers(text, expected):
    assert match_choice(text, CONSENT).id == expected


@pytest.mark.parametrize("noise", ["", "   ", "qwerty asdf", "3", "0", "🤔", "apa itu"])
def test_noise_matches_nothing(noise):
    assert match_choice(noise, CONSENT).id is None


def test_multi_choice_by_numbers_and_words():
    groups = [Candidate("a", ("karang taruna",)), Candidate("b", ("pkk rw 05",)), Candidate("c", ("umkm rw 05",))]
    assert match_choice("1, 3", groups, multi=True).ids == ("a", "c")
    assert match_choice("1 3", groups, multi=True).ids == ("a", "c")
    assert match_choice("pkk dan umkm", groups, multi=True).ids == ("b", "c")


def test_numbers_do_not_fuzzy_match_other_numbers():
    rts = [Candidate("09", ("rt 09", "09", "9")), Candidate("10", ("rt 10", "10"))]
    assert match_choice("rt 99", rts).id is None


def test_tie_is_reported_not_guessed():
    options = [Candidate("a", ("lampu jalan",)), Candidate("b", ("lampu taman",))]
    match = match_choice("lampu", options)
    assert match.id is None and set(match.tied) == {"a", "b"}


def test_parse_number_words():
    assert [parse_number(w) for w in ("2", "no 3", "nomor 4", "lima", "loro", "seven", "abc")] == [2, 3, 4, 5, 2, 7, None]


def test_clean_strips_control_and_zero_width():
    assert clean("ha\u200blo\x00 \x1b[31mBu\tSri\x1b[0m  ") == "halo Bu Sri"
    assert len(clean("x" * 10_000)) == 4000


def test_global_words_allow_typos_but_not_sentences():
    words = {"menu": ["menu"], "cancel": ["batal", "gak jadi"], "erase": ["hapus data saya"]}
    assert match_word("batal", words) == "cancel"
    assert match_word("hapus dta saya", words) == "erase"
    assert match_word("saya mau batal datang ke rapat besok pagi karena sakit", words) is None


def test_free_text_intents():
    intents = {
        "report": [("rusak",), ("jalan", "rusak"), ("lampu", "mati")],
        "business": [("usaha",), ("daftarkan", "usaha")],
        "events": [("rapat",), ("kapan",)],
        "survey": [("survei",)],
    }
    assert score_intents(normalize("jalan depan rumah rusak parah"), intents)[0][0] == "report"
    assert score_intents(normalize("mau daftarkan usaha bakso"), intents)[0][0] == "business"
    assert score_intents(normalize("kapan rapat RW?"), intents)[0][0] == "events"
    assert score_intents(normalize("ada survei baru?"), intents)[0][0] == "survey"
    assert score_intents(normalize("lampu mti di gang 3"), intents)[0][0] == "report"
    assert score_intents(normalize("selamat pagi"), intents) == []
