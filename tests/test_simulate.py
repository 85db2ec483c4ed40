"""`kampung simulate`: JSON lines in, JSON lines out, one time line across runs."""
import io
import json

from bot import simulate
from bot.cli import main


def run(app, *lines):
    out, err = io.StringIO(), io.StringIO()
    errors = simulate.run(app, io.StringIO("\n".join(lines) + "\n"), out, err)
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue(), errors


def msg(text, sender="whatsapp:+6281234567001"):
    return json.dumps({"from": sender, "text": text})


def test_each_outgoing_message_is_one_object_in_order(app):
    replies, err, errors = run(app, msg("halo"), msg("halo", sender="telegram:4242"))
    assert (err, errors) == ("", 0)
    assert [r["to"] for r in replies] == ["whatsapp:+6281234567001"] * 2 + ["telegram:4242"] * 2
    assert all(set(r) == {"to", "text", "choices", "flow", "step"} for r in replies)
    assert replies[1]["choices"] == [{"id": "agree", "label": "Setuju"}, {"id": "decline", "label": "Tidak setuju"}]
    assert (replies[1]["flow"], replies[1]["step"]) == ("onboarding", "consent")


def test_bad_lines_are_reported_with_their_number_and_skipped(app):
    replies, err, errors = run(app, "not json", "[1, 2]", json.dumps({"text": "no sender"}), msg("halo"))
    assert errors == 3
    assert "line 1: not JSON" in err and "line 2:" in err and 'line 3: a message needs "from"' in err
    assert len(replies) == 2


def test_media_and_location_reach_the_bot(app):
    voice = json.dumps({"from": "sms:+6281234567001", "media": [{"url": "https://x/v.ogg", "content_type": "audio/ogg"}]})
    replies, _, _ = run(app, msg("halo", "sms:+6281234567001"), voice)
    assert "pesan suara" in replies[2]["text"]


def test_the_clock_persists_across_runs_and_expires_idle_conversations(app):
    run(app, msg("halo"), msg("setuju"), msg("Bu Sri"), msg("4"), msg("lewati"), msg("1"), msg("ubah data"),
        json.dumps({"clock": "2026-11-23T12:00:00+07:00"}))
    replies, err, _ = run(app, msg("1"))  # a new run: it starts from the stored clock, 26 hours later
    assert err == ""
    assert "lama tidak dibalas" in replies[0]["text"]
    assert (replies[-1]["flow"], replies[-1]["step"]) == ("help", "menu")


def test_the_clock_never_goes_back(app):
    run(app, json.dumps({"clock": "2026-12-01T08:00:00+07:00"}))
    _, err, errors = run(app, json.dumps({"clock": "2026-11-30T08:00:00+07:00"}))
    assert errors == 1 and "cannot go back" in err


def test_cli_reads_a_file_and_exits_nonzero_on_bad_lines(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    script = tmp_path / "script.jsonl"
    script.write_text(msg("halo") + "\n")
    assert main(["--env-file", "/nonexistent", "simulate", str(script)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    script.write_text("oops\n")
    assert main(["--env-file", "/nonexistent", "simulate", str(script)]) == 1
