"""The questions of a survey being made in chat (part of the `survey_admin` flow;
flows/survey_builder.py runs the rest of the draft). Each question is a dict in the
shape of a survey file's question (`kampung surveys add`):

    new_qtype --type--> new_qtext
      new_qtext --single/multi--> new_qoptions (with commas, one per line, or "1. … 2. …") --> new_qtype
               --scale--> new_qscale (what 1 and 5 mean, or lewati) --> new_qtype
               --number--> new_qnumber (0-20, min 0, max 100, or lewati) --> new_qtype
               --yesno/text--> new_qtype
      new_qtype / new_qtext --selesai (at least one question)--> `finished()` of the builder

The question being written waits in `ctx.data["q"]` until it is complete.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flows.base import Answer, FlowContext, Option, Outcome, Prompt, Say
from flows.choices import letters
from flows.survey import QUESTION_TYPES, parse_amount
from handlers.understanding import normalize

QUESTION_MAX, OPTION_MAX, SCALE_END_MAX = 300, 100, 40
OPTIONS_MAX, QUESTIONS_MAX = 12, 20
# A preview's question list is cut into messages of about this many characters.
CHUNK = 1100

TYPE_PREFIX = "sva_type_"
TYPE_OPTIONS = tuple(Option(f"{TYPE_PREFIX}{t}", f"survey_admin.type.{t}") for t in QUESTION_TYPES)
DONE = Option("sva_done", "survey_admin.choice.done")
SKIP = Option("sva_skip", "survey_admin.choice.skip")
STEPS = ("new_qtype", "new_qtext", "new_qoptions", "new_qscale", "new_qnumber")

_BULLET = re.compile(r"^\s*(?:[-*•·]+|\d{1,2}[.)]|[a-zA-Z][.)])\s+")
_NUMBERED = re.compile(r"\s(?:\d{1,2}|[a-zA-Z])[.)]\s+")
_DASHED = re.compile(r"\s[-*•·]\s+")
_RANGE = re.compile(r"\s*(?:-|–|—|\bsampai\b|\bsampe\b|\bs/d\b|\bsd\b|\bhingga\b|\bto\b|\bnganti\b|\btekan\b)\s*")
_MAX_WORDS = re.compile(r"\b(?:max|maks|maksimal|maksimum|paling banyak|paling besar|paling gede|sak akeh)")
_MIN_WORDS = re.compile(r"\b(?:min|minimal|minimum|paling sedikit|paling kecil|sak thithik|dari)\b")


def said(ctx: FlowContext, answer: Answer, option: Option) -> bool:
    """A pressed button, or a short typed word for it ("lewati", "selesai"): longer
    text that merely contains the word is the person's text, not the choice."""
    if answer.choice_id == option.id and not answer.text:
        return True
    words = normalize(answer.text).split()
    return 0 < len(words) <= 2 and ctx.pick(answer.text, (option,)) == option.id


def short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def type_say(kind: str) -> Say:
    return Say(f"survey_admin.type.{kind}")


def prompt(step: str, ctx: FlowContext, questions: list[dict[str, Any]]) -> Prompt:
    q = ctx.data.get("q") or {}
    if step == "new_qtype":
        if len(questions) >= QUESTIONS_MAX:
            return Prompt("survey_admin.ask_type_full", {"max": QUESTIONS_MAX}, options=(DONE,))
        if not questions:
            return Prompt("survey_admin.ask_type_first", options=TYPE_OPTIONS + (DONE,))
        return Prompt("survey_admin.ask_type_next", {"n": len(questions) + 1, "count": len(questions)},
                      options=TYPE_OPTIONS + (DONE,))
    if step == "new_qtext":
        kind = q.get("type", "text")
        return Prompt("survey_admin.ask_question", {"n": len(questions) + 1, "type": type_say(kind),
                                                    "example": Say(f"survey_admin.example.{kind}")}, free_text=True)
    if step == "new_qoptions":
        return Prompt("survey_admin.ask_options", {"question": q.get("text", ""), "max": OPTIONS_MAX}, free_text=True)
    if step == "new_qscale":
        return Prompt("survey_admin.ask_scale", {"question": q.get("text", "")}, options=(SKIP,), free_text=True)
    if step == "new_qnumber":
        return Prompt("survey_admin.ask_range", {"question": q.get("text", "")}, options=(SKIP,), free_text=True)
    raise KeyError(step)


def answer(step: str, ctx: FlowContext, draft: dict[str, Any], answer: Answer,
           finished: Callable[[], Outcome]) -> Outcome:
    """Answer a question step; `finished()` is where "selesai" leads once there is a question."""
    return globals()[f"_answer_{step.removeprefix('new_')}"](ctx, draft, answer, finished)


def _questions_done(ctx: FlowContext, draft: dict, finished: Callable[[], Outcome]) -> Outcome:
    ctx.data.pop("q", None)
    if not draft["questions"]:
        return Outcome([Say("survey_admin.need_question")], goto="new_qtype")
    return finished()


def _answer_qtype(ctx: FlowContext, draft: dict, answer: Answer, finished: Callable[[], Outcome]) -> Outcome:
    choice = answer.choice_id or ""
    if choice == DONE.id:
        return _questions_done(ctx, draft, finished)
    if choice.startswith(TYPE_PREFIX) and len(draft["questions"]) < QUESTIONS_MAX:
        ctx.data["q"] = {"type": choice.removeprefix(TYPE_PREFIX)}
        return Outcome(goto="new_qtext")
    return Outcome()


def _answer_qtext(ctx: FlowContext, draft: dict, answer: Answer, finished: Callable[[], Outcome]) -> Outcome:
    q = ctx.data.get("q")
    if not q:
        return Outcome(goto="new_qtype")
    if said(ctx, answer, DONE):
        return _questions_done(ctx, draft, finished)
    text = " ".join(answer.text.split())
    if letters(text) < 3:
        return Outcome([Say("survey_admin.question_invalid")])
    if len(text) > QUESTION_MAX:
        return Outcome([Say("survey_admin.too_long", {"max": QUESTION_MAX})])
    q["text"] = text
    follow = {"single": "new_qoptions", "multi": "new_qoptions", "scale": "new_qscale", "number": "new_qnumber"}
    return Outcome(goto=follow[q["type"]]) if q["type"] in follow else _add_question(ctx, draft, q)


def _add_question(ctx: FlowContext, draft: dict, q: dict) -> Outcome:
    draft["questions"].append(q)
    ctx.data.pop("q", None)
    say = Say("survey_admin.question_added", {"n": len(draft["questions"]), "question": short(q["text"], 80)})
    return Outcome([say], goto="new_qtype")


def split_options(text: str) -> list[str]:
    """Options typed one per line, or separated by commas or semicolons, or as a
    numbered or dashed list ("1. Tenaga 2. Alat", "- Tenaga - Alat": line breaks may
    arrive as spaces); list marks are dropped."""
    rows = [r for r in text.replace("\r", "\n").split("\n") if r.strip()]
    if len(rows) == 1:
        one = " " + rows[0]
        if len(_NUMBERED.findall(one)) >= 2:
            rows = _NUMBERED.split(one)
        elif len(_DASHED.findall(one)) >= 2:
            rows = _DASHED.split(one)
        else:
            rows = re.split(r"[,;]", one)
    rows = [_BULLET.sub("", r).strip().strip(",;").strip() for r in rows]
    return [" ".join(r.split()) for r in rows if r]


def _answer_qoptions(ctx: FlowContext, draft: dict, answer: Answer, finished: Callable[[], Outcome]) -> Outcome:
    q = ctx.data.get("q")
    if not q or "text" not in q:
        return Outcome(goto="new_qtype")
    labels = split_options(answer.text)
    if len(labels) < 2:
        return Outcome([Say("survey_admin.options_few")])
    if len(labels) > OPTIONS_MAX:
        return Outcome([Say("survey_admin.options_many", {"max": OPTIONS_MAX, "count": len(labels)})])
    seen: set[str] = set()
    for label in labels:
        if len(label) > OPTION_MAX:
            return Outcome([Say("survey_admin.option_too_long", {"max": OPTION_MAX, "label": short(label, 40)})])
        if label.casefold() in seen:
            return Outcome([Say("survey_admin.option_duplicate", {"label": label})])
        seen.add(label.casefold())
    q["options"] = labels
    return _add_question(ctx, draft, q)


def _answer_qscale(ctx: FlowContext, draft: dict, answer: Answer, finished: Callable[[], Outcome]) -> Outcome:
    q = ctx.data.get("q")
    if not q or "text" not in q:
        return Outcome(goto="new_qtype")
    if not said(ctx, answer, SKIP):
        ends = split_options(answer.text)
        if len(ends) == 1:  # "sangat kotor - sangat bersih", "kotor / bersih", "kotor sampai bersih"
            ends = [e.strip() for e in re.split(r"\s+[-–—]\s+|/|\s+(?:sampai|hingga|s/d|sd|to|nganti)\s+", ends[0])
                    if e.strip()]
        if len(ends) != 2:
            return Outcome([Say("survey_admin.scale_invalid")])
        if any(len(end) > SCALE_END_MAX for end in ends):
            return Outcome([Say("survey_admin.too_long", {"max": SCALE_END_MAX})])
        q["low"], q["high"] = ends
    return _add_question(ctx, draft, q)


def read_range(text: str) -> tuple[float | None, float | None] | None:
    """"0-20", "0 sampai 20" -> (0, 20); "min 0" -> (0, None); "max 100" -> (None, 100);
    None when unreadable."""
    norm = text.lower()
    parts = [p for p in _RANGE.split(norm) if p.strip()]
    if len(parts) == 2:
        low, high = parse_amount(parts[0]), parse_amount(parts[1])
        return (low, high) if low is not None and high is not None else None
    if len(parts) != 1:
        return None
    value = parse_amount(parts[0])
    if value is None:
        return None
    if _MAX_WORDS.search(norm):
        return None, value
    if _MIN_WORDS.search(norm):
        return value, None
    return None


def _answer_qnumber(ctx: FlowContext, draft: dict, answer: Answer, finished: Callable[[], Outcome]) -> Outcome:
    q = ctx.data.get("q")
    if not q or "text" not in q:
        return Outcome(goto="new_qtype")
    if not said(ctx, answer, SKIP):
        found = read_range(answer.text)
        if found is None:
            return Outcome([Say("survey_admin.range_invalid")])
        low, high = found
        if low is not None and high is not None and low > high:
            return Outcome([Say("survey_admin.range_reversed")])
        if low is not None:
            q["min"] = low
        if high is not None:
            q["max"] = high
    return _add_question(ctx, draft, q)


def question_says(questions: list[dict[str, Any]]) -> list[Say]:
    """The draft's questions as messages of about CHUNK characters each."""
    says, chunk, size = [], [], 0
    for n, q in enumerate(questions, 1):
        detail = _detail(q)
        length = len(q["text"]) + 40 + sum(len(o) + 3 for o in q.get("options", ()))
        if chunk and size + length > CHUNK:
            says.append(Say("survey_admin.preview_questions", {"questions": lines(chunk)}))
            chunk, size = [], 0
        chunk.append(Say("survey_admin.preview_q", {"n": n, "text": q["text"], "type": type_say(q["type"]),
                                                    "detail": detail}))
        size += length
    if chunk:
        says.append(Say("survey_admin.preview_questions", {"questions": lines(chunk)}))
    return says


def lines(items: list[Say | str], key: str = "survey_admin.line") -> Say | str:
    """Items one per line (`survey_admin.line`) or as paragraphs (`survey_admin.block`)."""
    joined: Say | str = ""
    for item in reversed(items):
        joined = Say(key, {"line": item, "more": joined}) if joined != "" else item
    return joined


def _detail(q: dict[str, Any]) -> Say | str:
    if q["type"] in ("single", "multi"):
        return Say("survey_admin.detail_options", {"options": " / ".join(q.get("options", ()))})
    if q["type"] == "scale" and (q.get("low") or q.get("high")):
        return Say("survey_admin.detail_scale", {"low": q.get("low") or "-", "high": q.get("high") or "-"})
    if q["type"] == "number" and (q.get("min") is not None or q.get("max") is not None):
        return Say("survey_admin.detail_range", {"min": _num(q.get("min")), "max": _num(q.get("max"))})
    return ""


def _num(value: Any) -> str:
    return "-" if value is None else number_text(value)


def number_text(value: float) -> str:
    """12 -> "12", 12.5 -> "12,5", 1234567 -> "1.234.567" (Indonesian writing)."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:,.1f}".replace(",", "\0").replace(".", ",").replace("\0", ".")
