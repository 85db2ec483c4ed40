"""Announcements from staff ("kirim pengumuman"): a text, optionally a photo, to the
whole kampung, an RT or a paguyuban; now, at a natural time ("besok jam 8 malam") or
repeating ("setiap Jumat jam 16.00"); a preview before it goes says how many residents
will get it, on which channel, and how many cannot be reached and why (counted as the
notifier will send). The koordinator, ketua RW and admin may address anyone; an RT head
only their own RT(s) (the store and the effect handler check the audience again).

    text --text (+ photo)--> audience --semua warga--> when
      |                        |--RT--> pick_rt --RT--> when
      |                        +--paguyuban--> pick_group --name--> when
      |   (a photo sent at audience/when/preview is added to the announcement)
    when --sekarang--> preview          (inside quiet hours: now_quiet --tetap / jam 06.00 / lain--> ...)
      |--nanti--> at --"besok jam 8 malam"--> preview   (inside quiet hours: quiet --ya, jam 06.00--> preview)
      |--berulang--> every --"setiap Jumat jam 16.00"--> preview   (quiet hours: quiet likewise)
      +--a time typed right away ("besok jam 8", "tiap tanggal 1 jam 8") --> preview
    preview --kirim--> (queued / scheduled; staff menu)
      |--ubah--> edit --isi / penerima / waktu--> that step --> preview
      +--batal--> (nothing sent)
    list ("pengumuman terjadwal") --pick--> cancel_confirm --ya--> (cancelled) list

Quiet hours (ctx.policy.quiet_hours, default 21.00-06.00 WIB): a time or repetition inside
them is refused with the end of the quiet period offered as a one-tap choice; "sekarang"
inside them asks again. Times are stored as ISO UTC strings and repetitions as
`Recurrence.spec()` so the conversation stays JSON.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flows.base import Answer, Flow, FlowContext, Option, Outcome, Prompt, Say, When
from flows.choices import rt_picks
from flows.scope import STAFF_ROLES, scope_of
from flows.unreached import channels_say, unreached_say
from handlers.natural_time import NEED_TIME, parse_when
from handlers.recurrence import (MONTHLY, NOT_RECURRING, WEEKLY, Recurrence, moment_in_quiet,
                                 parse_recurrence, quiet_end_after, rule_out_of_quiet, in_quiet)

TEXT_LIMIT = 1500
AUD_ALL = Option("bc_aud_all", "broadcast.choice.all")
AUD_RT = Option("bc_aud_rt", "broadcast.choice.rt_pick")
AUD_GROUP = Option("bc_aud_group", "broadcast.choice.group_pick")
RT_PREFIX = "bc_rt:"
GROUP_PREFIX = "bc_pg:"
WHEN_NOW = Option("bc_now", "broadcast.choice.now")
WHEN_LATER = Option("bc_later", "broadcast.choice.later")
WHEN_REPEAT = Option("bc_repeat", "broadcast.choice.repeat")
SEND = Option("bc_send", "broadcast.choice.send")
EDIT = Option("bc_edit", "broadcast.choice.edit")
DROP = Option("bc_drop", "broadcast.choice.drop")
EDIT_TEXT = Option("bc_edit_text", "broadcast.choice.edit_text")
EDIT_AUDIENCE = Option("bc_edit_audience", "broadcast.choice.edit_audience")
EDIT_TIME = Option("bc_edit_time", "broadcast.choice.edit_time")
TO_PREVIEW = Option("bc_to_preview", "broadcast.choice.to_preview")
NOW_ANYWAY = Option("bc_now_anyway", "broadcast.choice.now_anyway")
OTHER_TIME = Option("bc_other_time", "broadcast.choice.other_time")
PICK_PREFIX = "bc_b"
NEW = Option("bc_new", "broadcast.choice.new")
CANCEL_YES = Option("bc_cancel_yes", "broadcast.choice.cancel_yes")
CANCEL_NO = Option("bc_cancel_no", "broadcast.choice.cancel_no")
MENU = Option("menu", "choice.menu")
QUIET_OK = "bc_quiet_ok"
MEDIA_STEPS = ("audience", "pick_rt", "pick_group", "when", "preview")


@dataclass(frozen=True)
class CreateBroadcast:
    """Effect: store an announcement and send it now (`at` and `rule` None), at `at`
    (ISO UTC) or on every run of `rule` (a Recurrence spec). `quiet_ok`: the sender
    confirmed sending now inside quiet hours."""

    text: str
    audience: str
    media_url: str | None = None
    at: str | None = None
    rule: str | None = None
    quiet_ok: bool = False
    media_type: str = ""


@dataclass(frozen=True)
class CancelBroadcast:
    """Effect: stop a scheduled or repeating announcement."""

    broadcast_id: int


# -- how things are said ---------------------------------------------------------------
def audience_say(audience: str) -> Say:
    kind, _, value = audience.partition(":")
    if kind == "rt":
        return Say("broadcast.aud.rt", {"rt": value})
    if kind == "paguyuban":
        return Say("broadcast.aud.group", {"name": value})
    return Say("broadcast.aud.rw" if audience == "rw" else "broadcast.aud.all")


def rule_say(rule: Recurrence) -> Say:
    clock = {"hh": f"{rule.at.hour:02d}", "mm": f"{rule.at.minute:02d}"}
    if rule.kind == WEEKLY:
        return Say("broadcast.every.weekly", {"day": Say(f"broadcast.weekday.{rule.weekday}"), **clock})
    if rule.kind == MONTHLY:
        return Say("broadcast.every.monthly", {"day": rule.monthday, **clock})
    return Say("broadcast.every.daily", clock)


def when_say(data: dict) -> Say:
    if data.get("rule"):
        return rule_say(Recurrence.from_spec(data["rule"]))
    if data.get("at"):
        return Say("broadcast.when_at", {"at": When(datetime.fromisoformat(data["at"]))})
    return Say("broadcast.when_now")


def _at_option(ctx: FlowContext, at: datetime) -> Option:
    """The one-tap choice for a suggested time: "Kirim besok jam 06.00" (labels are plain text)."""
    zone = ZoneInfo(ctx.policy.zone)
    local, today = at.astimezone(zone), ctx.now.astimezone(zone).date()
    clock = local.strftime("%H.%M")
    days = (local.date() - today).days
    if days in (0, 1):
        return Option(QUIET_OK, f"broadcast.choice.at_{'today' if days == 0 else 'tomorrow'}", params={"clock": clock})
    return Option(QUIET_OK, "broadcast.choice.at_day", params={"clock": clock, "date": local.strftime("%d/%m")})


def _utc(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat()


def _text_of(answer: Answer) -> str:
    return "\n".join(" ".join(line.split()) for line in answer.text.strip().splitlines()).strip()[:TEXT_LIMIT]


class BroadcastFlow(Flow):
    id = "broadcast"
    first_step = "text"
    roles = STAFF_ROLES
    commands = frozenset({"broadcast", "broadcast_list"})
    cancel_key = "broadcast.cancelled"

    def intro(self, ctx: FlowContext) -> list[Say]:
        count = len(ctx.store.broadcasts.scheduled())
        return [Say("broadcast.intro_scheduled", {"count": count})] if count else []

    def command(self, word: str, ctx: FlowContext, argument: str = "") -> Outcome:
        if word == "broadcast_list":
            return Outcome(goto="list")
        return Outcome(self.intro(ctx), goto="text")

    # -- prompts -----------------------------------------------------------------------
    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        data = ctx.data
        if step == "text":
            return Prompt("broadcast.ask_text", free_text=True, accepts_media=True)
        if step == "audience":
            options = self._audiences(ctx)
            if not options:  # an RT head whose grant names no RT
                return Prompt("broadcast.no_audience", options=(MENU,))
            return Prompt("broadcast.ask_audience", options=options, accepts_media=True)
        if step == "pick_rt":
            return Prompt("broadcast.ask_rt", options=rt_picks(ctx.kampung.rts, RT_PREFIX, "broadcast.choice.rt"), accepts_media=True)
        if step == "pick_group":
            options = tuple(Option(f"{GROUP_PREFIX}{i}", label=name) for i, name in enumerate(ctx.kampung.paguyuban))
            return Prompt("broadcast.ask_group", options=options, accepts_media=True)
        if step == "when" or (step in ("quiet", "now_quiet") and ctx.policy.quiet_hours is None):
            return Prompt("broadcast.ask_when", options=(WHEN_NOW, WHEN_LATER, WHEN_REPEAT), free_text=True,
                          accepts_media=True)
        if step == "at":
            if ctx.data.get("day"):  # the day is known; "when.need_time" has just asked the hour
                return Prompt("broadcast.ask_at_hour", free_text=True)
            return Prompt("broadcast.ask_at", free_text=True)
        if step == "every":
            return Prompt("broadcast.ask_every", free_text=True)
        if step == "quiet":
            return self._quiet(ctx)
        if step == "now_quiet":
            suggest = quiet_end_after(ctx.now, ctx.policy.quiet_hours, ctx.policy.zone)
            return Prompt("broadcast.now_quiet", {"start": ctx.policy.quiet_hours[0].strftime("%H.%M"),
                                                  "end": ctx.policy.quiet_hours[1].strftime("%H.%M"),
                                                  "suggest": When(suggest)},
                          options=(NOW_ANYWAY, _at_option(ctx, suggest), OTHER_TIME))
        if step == "preview":
            return self._preview(ctx)
        if step == "edit":
            return Prompt("broadcast.ask_edit", options=(EDIT_TEXT, EDIT_AUDIENCE, EDIT_TIME, TO_PREVIEW))
        if step == "list":
            return self._list(ctx)
        if step == "cancel_confirm":
            found = ctx.store.broadcasts.get(data.get("cancel_id", 0))
            if found is None:
                return Prompt("broadcast.gone", options=(NEW, MENU))
            return Prompt("broadcast.confirm_cancel", self._item(found), options=(CANCEL_YES, CANCEL_NO))
        raise KeyError(step)

    @staticmethod
    def _audiences(ctx: FlowContext) -> tuple[Option, ...]:
        scope = scope_of(ctx.resident)
        if scope.everything:
            return (AUD_ALL, AUD_RT) + ((AUD_GROUP,) if ctx.kampung.paguyuban else ())
        return rt_picks(sorted(scope.rts), RT_PREFIX, "broadcast.choice.rt")

    @staticmethod
    def _quiet(ctx: FlowContext) -> Prompt:
        data, window = ctx.data, ctx.policy.quiet_hours
        hours = {"start": window[0].strftime("%H.%M"), "end": window[1].strftime("%H.%M")}
        if data.get("suggest_rule"):
            asked, suggest = Recurrence.from_spec(data["asked_rule"]), Recurrence.from_spec(data["suggest_rule"])
            return Prompt("broadcast.quiet_every", {**hours, "asked": rule_say(asked), "suggest": rule_say(suggest)},
                          options=(Option(QUIET_OK, "broadcast.choice.use_rule"),), free_text=True)
        asked, suggest = datetime.fromisoformat(data["asked_at"]), datetime.fromisoformat(data["suggest_at"])
        return Prompt("broadcast.quiet_at", {**hours, "asked": When(asked), "suggest": When(suggest)},
                      options=(_at_option(ctx, suggest),), free_text=True)

    @staticmethod
    def _preview(ctx: FlowContext) -> Prompt:
        data = ctx.data
        reach = ctx.store.broadcasts.reach(data["audience"])
        photo = Say("broadcast.photo_yes") if data.get("media") else Say("broadcast.photo_no")
        groups = Say("broadcast.preview_groups", {"count": reach.groups}) if reach.groups else ""
        people = reach.people
        params = {"text": data["text"], "photo": photo, "audience": audience_say(data["audience"]),
                  "count": people.reached, "channels": channels_say(people.channels), "groups": groups,
                  "unreached": unreached_say("broadcast.preview_unreached", people), "stopped": people.stopped,
                  "when": when_say(data)}
        return Prompt("broadcast.preview", params, options=(SEND, EDIT, DROP), accepts_media=True)

    @staticmethod
    def _item(found) -> dict:
        when = (rule_say(Recurrence.from_spec(found.rule)) if found.rule else Say("broadcast.when_at", {"at": When(found.next_run_at)}))
        nxt = Say("broadcast.next_run", {"at": When(found.next_run_at)}) if found.rule and found.next_run_at else ""
        short = found.text if len(found.text) <= 60 else found.text[:57] + "..."
        return {"id": found.id, "audience": audience_say(found.audience), "when": when, "next": nxt, "text": short}

    def _list(self, ctx: FlowContext) -> Prompt:
        items = ctx.store.broadcasts.scheduled()
        if not items:
            return Prompt("broadcast.list_empty", options=(NEW, MENU))
        said: Say | str = ""
        for found in reversed(items):
            said = Say("broadcast.list_item", {**self._item(found), "more": said})
        options = tuple(Option(f"{PICK_PREFIX}{b.id}", "broadcast.choice.pick", params={"id": b.id}, aliases=(f"#{b.id}",))
                        for b in items)
        return Prompt("broadcast.list", {"items": said}, options=options + (NEW, MENU))

    # -- answers -----------------------------------------------------------------------
    def answer(self, step: str, ctx: FlowContext, answer: Answer) -> Outcome:
        if step in ("quiet", "now_quiet") and ctx.policy.quiet_hours is None:
            step = "when"  # quiet hours were switched off meanwhile
        said: list[Say] = []
        if step in MEDIA_STEPS and answer.media:
            ctx.data["media"], ctx.data["media_type"] = answer.media[0].url, answer.media[0].content_type
            said.append(Say("broadcast.photo_added"))
            if not answer.text and not answer.choice_id:
                return Outcome(said)
        outcome = getattr(self, f"_answer_{step}")(ctx, answer)
        outcome.say[:0] = said
        return outcome

    def _next(self, ctx: FlowContext, step: str) -> Outcome:
        """Go on to `step`, or back to the preview when an edit is done."""
        return Outcome(goto="preview" if ctx.data.get("editing") and "when_set" in ctx.data else step)

    def _answer_text(self, ctx: FlowContext, answer: Answer) -> Outcome:
        if answer.media:
            ctx.data["media"], ctx.data["media_type"] = answer.media[0].url, answer.media[0].content_type
        text = _text_of(answer)
        if not text:
            return Outcome([Say("broadcast.photo_added_need_text")] if answer.media else [Say("broadcast.text_empty")])
        if sum(ch.isalnum() for ch in text) < 3:
            return Outcome([Say("broadcast.text_short")])
        ctx.data["text"] = text
        said = [Say("broadcast.photo_added")] if answer.media else []
        outcome = self._next(ctx, "audience")
        outcome.say[:0] = said
        return outcome

    def _answer_audience(self, ctx: FlowContext, answer: Answer) -> Outcome:
        choice = answer.choice_id or ""
        if choice == MENU.id:
            return Outcome(switch="help")
        if choice == AUD_ALL.id:
            return self._set_audience(ctx, "all")
        if choice == AUD_RT.id:
            named = ctx.pick(answer.text, rt_picks(ctx.kampung.rts, RT_PREFIX, "broadcast.choice.rt")) if any(c.isdigit() for c in answer.text) else None
            if named:  # "rt 4": that RT at once
                return self._answer_pick_rt(ctx, Answer(text=answer.text, choice_id=named))
            return Outcome(goto="pick_rt")
        if choice == AUD_GROUP.id:
            return Outcome(goto="pick_group")
        return self._answer_pick_rt(ctx, answer)

    def _answer_pick_rt(self, ctx: FlowContext, answer: Answer) -> Outcome:
        choice = answer.choice_id or ""
        if choice.startswith(RT_PREFIX):
            rt = choice.removeprefix(RT_PREFIX)
            if not scope_of(ctx.resident).covers(rt):
                return Outcome([Say("broadcast.rt_not_yours", {"rt": rt})])
            return self._set_audience(ctx, f"rt:{rt}")
        return Outcome()

    def _answer_pick_group(self, ctx: FlowContext, answer: Answer) -> Outcome:
        choice = answer.choice_id or ""
        names = ctx.kampung.paguyuban
        if choice.startswith(GROUP_PREFIX) and choice.removeprefix(GROUP_PREFIX).isdigit():
            index = int(choice.removeprefix(GROUP_PREFIX))
            if index < len(names):
                return self._set_audience(ctx, f"paguyuban:{names[index]}")
        return Outcome()

    def _set_audience(self, ctx: FlowContext, audience: str) -> Outcome:
        ctx.data["audience"] = audience
        return self._next(ctx, "when")

    def _answer_when(self, ctx: FlowContext, answer: Answer) -> Outcome:
        text = answer.text.strip()
        if text and not (answer.choice_id and text.isdigit()):  # a typed number picks an option
            rec = parse_recurrence(text, ctx.now, ctx.policy.zone)
            if rec.rule is not None:
                return self._set_rule(ctx, rec.rule)
            found = parse_when(text, ctx.now, ctx.policy.zone)
            if found.at is not None:
                return self._set_at(ctx, found.at)
        else:
            rec = found = None
        choice = answer.choice_id
        if choice == WHEN_NOW.id:
            return self._set_now(ctx)
        if choice == WHEN_LATER.id:
            return Outcome(goto="at")
        if choice == WHEN_REPEAT.id:
            return Outcome(goto="every")
        if rec is not None and rec.reason != NOT_RECURRING:
            return Outcome([Say(f"broadcast.every_{rec.reason}")], goto="every")
        if found is not None and found.reason == NEED_TIME:
            ctx.data["day"] = found.date_only.isoformat()
            return Outcome([Say("when.need_time")], goto="at")
        if found is not None:
            return Outcome([Say(f"when.{found.reason}")])
        return Outcome()

    def _answer_at(self, ctx: FlowContext, answer: Answer) -> Outcome:
        text = answer.text.strip()
        if answer.choice_id == QUIET_OK and (not text or text.isdigit()):  # pressed, or its number typed
            return self._set_at(ctx, datetime.fromisoformat(ctx.data["suggest_at"]))
        rec = parse_recurrence(text, ctx.now, ctx.policy.zone)
        if rec.rule is not None:
            return self._set_rule(ctx, rec.rule)
        day = date.fromisoformat(ctx.data["day"]) if ctx.data.get("day") else None
        found = parse_when(text, ctx.now, ctx.policy.zone, day=day)
        if found.at is None and day is not None and found.reason != NEED_TIME:
            found = parse_when(text, ctx.now, ctx.policy.zone)  # a whole new time, not the hour of that day
        if found.at is not None:
            return self._set_at(ctx, found.at)
        if answer.choice_id == QUIET_OK:  # after the text: "besok jam 7" is a time, not a yes
            return self._set_at(ctx, datetime.fromisoformat(ctx.data["suggest_at"]))
        if found.reason == NEED_TIME:
            ctx.data["day"] = found.date_only.isoformat()
        return Outcome([Say(f"when.{found.reason}")], goto="at")

    def _answer_every(self, ctx: FlowContext, answer: Answer) -> Outcome:
        if answer.choice_id == QUIET_OK and (not answer.text.strip() or answer.text.strip().isdigit()):
            return self._set_rule(ctx, Recurrence.from_spec(ctx.data["suggest_rule"]))
        rec = parse_recurrence(answer.text, ctx.now, ctx.policy.zone)
        if rec.rule is not None:
            return self._set_rule(ctx, rec.rule)
        if answer.choice_id == QUIET_OK:
            return self._set_rule(ctx, Recurrence.from_spec(ctx.data["suggest_rule"]))
        if rec.reason == NOT_RECURRING:
            found = parse_when(answer.text, ctx.now, ctx.policy.zone)
            if found.at is not None:
                return self._set_at(ctx, found.at)
        return Outcome([Say(f"broadcast.every_{rec.reason}")], goto="every")

    def _answer_quiet(self, ctx: FlowContext, answer: Answer) -> Outcome:
        if ctx.data.get("suggest_rule"):
            return self._answer_every(ctx, answer)
        return self._answer_at(ctx, answer)

    def _answer_now_quiet(self, ctx: FlowContext, answer: Answer) -> Outcome:
        if answer.choice_id == NOW_ANYWAY.id:
            return self._set_now(ctx, quiet_ok=True)
        if answer.choice_id == QUIET_OK:
            return self._set_at(ctx, quiet_end_after(ctx.now, ctx.policy.quiet_hours, ctx.policy.zone))
        if answer.choice_id == OTHER_TIME.id:
            return Outcome(goto="at")
        return Outcome()

    def _clear_time(self, ctx: FlowContext) -> None:
        for key in ("at", "rule", "day", "suggest_at", "suggest_rule", "asked_at", "asked_rule", "quiet_ok"):
            ctx.data.pop(key, None)

    def _set_now(self, ctx: FlowContext, quiet_ok: bool = False) -> Outcome:
        self._clear_time(ctx)
        window = ctx.policy.quiet_hours
        if not quiet_ok and moment_in_quiet(ctx.now, window, ctx.policy.zone):
            return Outcome(goto="now_quiet")
        ctx.data["quiet_ok"], ctx.data["when_set"] = quiet_ok, True
        return Outcome(goto="preview")

    def _set_at(self, ctx: FlowContext, at: datetime) -> Outcome:
        self._clear_time(ctx)
        window = ctx.policy.quiet_hours
        if at <= ctx.now:
            return Outcome([Say("when.past")], goto="at")
        if moment_in_quiet(at, window, ctx.policy.zone):
            ctx.data["asked_at"] = _utc(at)
            ctx.data["suggest_at"] = _utc(quiet_end_after(at, window, ctx.policy.zone))
            return Outcome(goto="quiet")
        ctx.data["at"], ctx.data["when_set"] = _utc(at), True
        return Outcome(goto="preview")

    def _set_rule(self, ctx: FlowContext, rule: Recurrence) -> Outcome:
        self._clear_time(ctx)
        window = ctx.policy.quiet_hours
        if in_quiet(rule.at, window):
            ctx.data["asked_rule"] = rule.spec()
            ctx.data["suggest_rule"] = rule_out_of_quiet(rule, window).spec()
            return Outcome(goto="quiet")
        ctx.data["rule"], ctx.data["when_set"] = rule.spec(), True
        return Outcome(goto="preview")

    def _answer_preview(self, ctx: FlowContext, answer: Answer) -> Outcome:
        data = ctx.data
        if answer.choice_id == EDIT.id:
            data["editing"] = True
            return Outcome(goto="edit")
        if answer.choice_id == DROP.id:
            return Outcome([Say("broadcast.cancelled")], switch="staff")
        if answer.choice_id != SEND.id:
            return Outcome()
        if data.get("at") and datetime.fromisoformat(data["at"]) <= ctx.now:
            return Outcome([Say("when.past")], goto="at")
        if not data.get("at") and not data.get("rule") and not data.get("quiet_ok") \
                and moment_in_quiet(ctx.now, ctx.policy.quiet_hours, ctx.policy.zone):
            return Outcome(goto="now_quiet")  # it got late while the preview waited
        effect = CreateBroadcast(data["text"], data["audience"], data.get("media"), data.get("at"), data.get("rule"),
                                 bool(data.get("quiet_ok")), data.get("media_type", ""))
        return Outcome(switch="staff", effects=[effect])

    def _answer_edit(self, ctx: FlowContext, answer: Answer) -> Outcome:
        target = {EDIT_TEXT.id: "text", EDIT_AUDIENCE.id: "audience", EDIT_TIME.id: "when", TO_PREVIEW.id: "preview"}
        return Outcome(goto=target.get(answer.choice_id or ""))

    def _answer_list(self, ctx: FlowContext, answer: Answer) -> Outcome:
        choice = answer.choice_id or ""
        if choice == NEW.id:
            return Outcome(goto="text")
        if choice == MENU.id:
            return Outcome(switch="help")
        if choice.startswith(PICK_PREFIX) and choice.removeprefix(PICK_PREFIX).isdigit():
            ctx.data["cancel_id"] = int(choice.removeprefix(PICK_PREFIX))
            return Outcome(goto="cancel_confirm")
        return Outcome()

    def _answer_cancel_confirm(self, ctx: FlowContext, answer: Answer) -> Outcome:
        if answer.choice_id == CANCEL_YES.id:
            return Outcome(goto="list", effects=[CancelBroadcast(ctx.data["cancel_id"])])
        if answer.choice_id in (CANCEL_NO.id, NEW.id):
            return Outcome(goto="list" if answer.choice_id == CANCEL_NO.id else "text")
        if answer.choice_id == MENU.id:
            return Outcome(switch="help")
        return Outcome()

