"""Creating a survey in chat, step by step (part of the `survey_admin` flow, whose
steps starting with "new_" are answered here; the question steps new_q* are in
flows/survey_questions.py).

    new_title --> new_description (or lewati) --> new_qtype ... (questions) ...
      --selesai--> new_audience (an RT head with one RT: skipped, their RT) --> new_closes
      new_closes --a day without an hour--> new_closes_time --> new_preview
                 --a full time--> new_preview
    new_preview --terbitkan--> (PublishSurvey: stored, audience invited) list
                --ubah--> new_edit --> the step of that part --> new_preview
                          (hapus pertanyaan: new_remove --> new_preview)
                --buang--> (draft dropped) list

The draft lives in `ctx.data["draft"]` in the same shape as a survey file's fields
(`kampung surveys add`), so a pause or a restart carries on where it was, and the
effect handler checks and stores it with the same code as the desk command. An RT
head can only address their own RT; the handler checks that again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from flows import survey_questions as questions
from flows.base import Answer, FlowContext, Option, Outcome, Prompt, Say, When
from flows.choices import letters
from flows.scope import scope_of
from flows.survey_questions import SKIP, question_says, said, short
from handlers.natural_time import IMPOSSIBLE, NEED_TIME, PAST, parse_when
from handlers.recurrence import quiet_until
from handlers.understanding import clean

TITLE_MAX, DESCRIPTION_MAX = 200, 1000

PUBLISH = Option("sva_publish", "survey_admin.choice.publish")
EDIT = Option("sva_edit", "survey_admin.choice.edit")
DISCARD = Option("sva_discard", "survey_admin.choice.discard")
EDIT_PREFIX = "sva_edit_"
EDIT_PARTS = ("title", "description", "add", "remove", "audience", "closes", "back")
EDIT_OPTIONS = tuple(Option(f"{EDIT_PREFIX}{part}", f"survey_admin.edit.{part}") for part in EDIT_PARTS)
REMOVE_PREFIX = "sva_rm"
AUDIENCE_ALL = "sva_aud_all"
AUDIENCE_RT = "sva_aud_rt"
AUDIENCE_PAGUYUBAN = "sva_aud_pg"

STEPS = ("new_title", "new_description", *questions.STEPS, "new_audience", "new_closes", "new_closes_time",
         "new_preview", "new_edit", "new_remove")


@dataclass(frozen=True)
class PublishSurvey:
    """Effect: check and store the draft (survey-file fields: title, description,
    audience, closes as ISO 8601, questions) and invite its audience."""

    draft: dict[str, Any] = field(default_factory=dict)


def quiet_say(ctx: FlowContext, key: str) -> Say | str:
    """A note (`key`, with the end of quiet hours) when it is quiet hours now: invitations
    and reminders written then wait in the outbox until they end (bot.notify)."""
    until = quiet_until(ctx.now, ctx.policy.quiet_hours, ctx.policy.zone)
    return Say(key, {"until": When(until)}) if until else ""


def start(ctx: FlowContext) -> Outcome:
    """Begin a new draft (any earlier unpublished one is dropped)."""
    ctx.data["draft"] = {"title": "", "description": "", "questions": []}
    ctx.data.pop("editing", None)
    ctx.data.pop("q", None)
    return Outcome(goto="new_title")


def _draft(ctx: FlowContext) -> dict[str, Any]:
    return ctx.data.setdefault("draft", {"title": "", "description": "", "questions": []})


def audience_say(audience: str) -> Say:
    kind, _, value = audience.partition(":")
    return Say(f"survey.audience.{kind}", {"value": value})


# -- prompts -------------------------------------------------------------------------------
def prompt(step: str, ctx: FlowContext) -> Prompt:
    draft = _draft(ctx)
    if step == "new_title":
        return Prompt("survey_admin.ask_title", free_text=True)
    if step == "new_description":
        return Prompt("survey_admin.ask_description", {"title": draft["title"]}, options=(SKIP,), free_text=True)
    if step in questions.STEPS:
        return questions.prompt(step, ctx, draft["questions"])
    if step == "new_audience":
        rt_head = not scope_of(ctx.resident).everything
        return Prompt("survey_admin.ask_audience_rt" if rt_head else "survey_admin.ask_audience",
                      options=audience_options(ctx))
    if step == "new_closes":
        return Prompt("survey_admin.ask_closes", free_text=True)
    if step == "new_closes_time":
        day = date.fromisoformat(ctx.data.get("closes_day", ctx.now.date().isoformat()))
        return Prompt("survey_admin.ask_closes_time", {"day": f"{day.day}/{day.month}/{day.year}"}, free_text=True)
    if step == "new_preview":
        return _preview(ctx, draft)
    if step == "new_edit":
        return Prompt("survey_admin.ask_edit", options=EDIT_OPTIONS)
    if step == "new_remove":
        return Prompt("survey_admin.ask_remove", options=tuple(
            Option(f"{REMOVE_PREFIX}{i}", label=short(q["text"])) for i, q in enumerate(draft["questions"])))
    raise KeyError(step)


def audience_options(ctx: FlowContext) -> tuple[Option, ...]:
    scope = scope_of(ctx.resident)
    rts = ctx.kampung.rts if scope.everything else tuple(sorted(scope.rts))
    options = [Option(AUDIENCE_ALL, "survey_admin.audience_all")] if scope.everything else []
    options += [Option(f"{AUDIENCE_RT}{rt}", "survey_admin.audience_rt", params={"rt": rt},
                       aliases=(f"rt {rt}", f"rt {rt.lstrip('0') or '0'}")) for rt in rts]
    if scope.everything:
        options += [Option(f"{AUDIENCE_PAGUYUBAN}{i}", label=name) for i, name in enumerate(ctx.kampung.paguyuban)]
    return tuple(options)


def _preview(ctx: FlowContext, draft: dict[str, Any]) -> Prompt:
    audience = draft.get("audience") or "all"
    members, reachable = ctx.store.survey_admin.recipients(audience)
    closes = datetime.fromisoformat(draft["closes"]) if draft.get("closes") else ctx.now
    description = Say("survey_admin.preview_description", {"text": short(draft["description"], 500)}) \
        if draft.get("description") else ""
    params = {"title": short(draft.get("title", ""), 100), "description": description, "count": len(draft["questions"]),
              "audience": audience_say(audience), "recipients": reachable,
              "stopped": Say("survey_admin.preview_stopped", {"count": members - reachable})
              if members > reachable else "", "closes": When(closes),
              "quiet": quiet_say(ctx, "survey_admin.quiet_publish")}
    return Prompt("survey_admin.preview", params, options=(PUBLISH, EDIT, DISCARD))


# -- answers ---------------------------------------------------------------------------------
def answer(step: str, ctx: FlowContext, answer: Answer) -> Outcome:
    draft = _draft(ctx)
    if step in questions.STEPS:
        return questions.answer(step, ctx, draft, answer, lambda: _questions_finished(ctx, draft))
    return globals()[f"_answer_{step.removeprefix('new_')}"](ctx, draft, answer)


def _questions_finished(ctx: FlowContext, draft: dict) -> Outcome:
    scope = scope_of(ctx.resident)
    if not scope.everything and len(scope.rts) == 1 and not ctx.data.get("editing"):
        # An RT head with one RT: there is nothing to choose.
        (rt,) = scope.rts
        draft["audience"] = f"rt:{rt}"
        return Outcome([Say("survey_admin.audience_own_rt", {"rt": rt})], goto="new_closes")
    return _then(ctx, "new_audience")


def _then(ctx: FlowContext, step: str, say: list[Say] | None = None) -> Outcome:
    """Go on to `step`, or back to the preview when changing one part of the draft."""
    if ctx.data.get("editing"):
        return to_preview(ctx, say)
    return Outcome(list(say or []), goto=step)


def to_preview(ctx: FlowContext, say: list[Say] | None = None) -> Outcome:
    ctx.data["editing"] = True
    return Outcome(list(say or []) + question_says(_draft(ctx)["questions"]), goto="new_preview")


def _answer_title(ctx: FlowContext, draft: dict, answer: Answer) -> Outcome:
    text = clean(answer.text, limit=TITLE_MAX + 1)
    if letters(text) < 3:
        return Outcome([Say("survey_admin.title_invalid")])
    if len(text) > TITLE_MAX:
        return Outcome([Say("survey_admin.too_long", {"max": TITLE_MAX})])
    draft["title"] = text
    return _then(ctx, "new_description")


def _answer_description(ctx: FlowContext, draft: dict, answer: Answer) -> Outcome:
    if said(ctx, answer, SKIP):
        draft["description"] = ""
        return _then(ctx, "new_qtype")
    text = " ".join(answer.text.split())
    if letters(text) < 3:
        return Outcome([Say("survey_admin.description_invalid")])
    if len(text) > DESCRIPTION_MAX:
        return Outcome([Say("survey_admin.too_long", {"max": DESCRIPTION_MAX})])
    draft["description"] = text
    return _then(ctx, "new_qtype")


def _answer_audience(ctx: FlowContext, draft: dict, answer: Answer) -> Outcome:
    choice = answer.choice_id or ""
    if choice == AUDIENCE_ALL:
        draft["audience"] = "all"
    elif choice.startswith(AUDIENCE_RT):
        draft["audience"] = f"rt:{choice.removeprefix(AUDIENCE_RT)}"
    elif choice.startswith(AUDIENCE_PAGUYUBAN) and choice.removeprefix(AUDIENCE_PAGUYUBAN).isdigit():
        index = int(choice.removeprefix(AUDIENCE_PAGUYUBAN))
        if index >= len(ctx.kampung.paguyuban):
            return Outcome()
        draft["audience"] = f"paguyuban:{ctx.kampung.paguyuban[index]}"
    else:
        return Outcome()
    return _then(ctx, "new_closes")


def _closing(ctx: FlowContext, draft: dict, text: str, day: date | None) -> Outcome:
    found = parse_when(text, ctx.now, ctx.policy.zone, day=day)
    if found.at is not None:
        draft["closes"] = found.at.astimezone(timezone.utc).isoformat()
        ctx.data.pop("closes_day", None)
        return to_preview(ctx)
    if found.reason == NEED_TIME and found.date_only:
        ctx.data["closes_day"] = found.date_only.isoformat()
        return Outcome(goto="new_closes_time") if day is None else Outcome([Say("survey_admin.closes_need_hour")])
    key = {PAST: "survey_admin.closes_past", IMPOSSIBLE: "survey_admin.closes_impossible"}.get(
        found.reason, "survey_admin.closes_unreadable" if day is None else "survey_admin.closes_need_hour")
    return Outcome([Say(key)])


def _answer_closes(ctx: FlowContext, draft: dict, answer: Answer) -> Outcome:
    return _closing(ctx, draft, answer.text, None)


def _answer_closes_time(ctx: FlowContext, draft: dict, answer: Answer) -> Outcome:
    day = date.fromisoformat(ctx.data.get("closes_day", ctx.now.date().isoformat()))
    return _closing(ctx, draft, answer.text, day)


def _answer_preview(ctx: FlowContext, draft: dict, answer: Answer) -> Outcome:
    if answer.choice_id == PUBLISH.id:
        missing = [part for part in ("title", "audience", "closes") if not draft.get(part)]
        if missing or not draft["questions"]:
            return Outcome([Say("survey_admin.draft_incomplete")], goto="new_edit")
        ctx.data["editing"] = True
        if datetime.fromisoformat(draft["closes"]) <= ctx.now:  # the preview waited too long
            return Outcome([Say("survey_admin.closes_passed")], goto="new_closes")
        same = ctx.store.survey_admin.open_with_title(draft["title"])
        if same is not None:
            return Outcome([Say("survey_admin.title_taken", {"title": draft["title"], "id": same})], goto="new_title")
        effect = PublishSurvey(dict(draft))
        for key in ("draft", "editing", "q"):
            ctx.data.pop(key, None)
        return Outcome(goto="list", effects=[effect])
    if answer.choice_id == EDIT.id:
        return Outcome(goto="new_edit")
    if answer.choice_id == DISCARD.id:
        for key in ("draft", "editing", "q"):
            ctx.data.pop(key, None)
        return Outcome([Say("survey_admin.discarded")], goto="list")
    return Outcome()


def _answer_edit(ctx: FlowContext, draft: dict, answer: Answer) -> Outcome:
    part = (answer.choice_id or "").removeprefix(EDIT_PREFIX)
    ctx.data["editing"] = True
    steps = {"title": "new_title", "description": "new_description", "add": "new_qtype", "audience": "new_audience",
             "closes": "new_closes"}
    if part in steps:
        return Outcome(goto=steps[part])
    if part == "remove":
        return Outcome(goto="new_remove") if draft["questions"] else Outcome(goto="new_qtype")
    if part == "back":
        return to_preview(ctx)
    return Outcome()


def _answer_remove(ctx: FlowContext, draft: dict, answer: Answer) -> Outcome:
    index = (answer.choice_id or "").removeprefix(REMOVE_PREFIX)
    if not index.isdigit() or int(index) >= len(draft["questions"]):
        return Outcome()
    removed = draft["questions"].pop(int(index))
    say = [Say("survey_admin.question_removed", {"question": short(removed["text"], 80)})]
    if not draft["questions"]:
        return Outcome(say + [Say("survey_admin.need_question")], goto="new_qtype")
    return to_preview(ctx, say)
