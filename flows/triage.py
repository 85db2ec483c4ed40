"""Report triage for RT heads, ketua RW and the koordinator: go through the open
reports (oldest first, only those of one's own RT for an RT head), change a report's
status with an optional note (a reason is required to reject), merge a duplicate
into the report that is kept, or download the reports as a spreadsheet file.

    list --pick a report / type LPR-0042--> detail (with the reporter's photo, when it has a link)
      |--unduh--> export --xlsx / csv / open311--> (file sent) list
    detail --new status--> note --note / tanpa catatan--> (status changed, reporter told) list
      |--gabungkan--> merge --pick the kept report--> merge_confirm --ya--> (merged) list
      |                                                     |--tidak--> detail
      |--daftar--> list

Only report ids are kept in the conversation; every step re-reads the report, so a
report another staff member closed in the meantime is said to be gone, not acted on.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.reports import NEXT_STATUS, parse_ticket
from flows.base import Answer, Flow, FlowContext, Option, Outcome, Prompt, Say, When
from flows.choices import letters
from flows.report import category_say
from flows.scope import STAFF_ROLES

PICK_PREFIX = "trg_r"
STATUS_PREFIX = "trg_st_"
MERGE = Option("trg_merge", "triage.choice.merge")
LIST = Option("trg_list", "triage.choice.list")
NO_NOTE = Option("trg_no_note", "triage.choice.no_note")
MERGE_YES = Option("trg_merge_yes", "triage.choice.merge_yes")
MERGE_NO = Option("trg_merge_no", "triage.choice.merge_no")
MENU = Option("menu", "choice.menu")
EXPORT = Option("trg_export", "triage.choice.export")
FORMAT_PREFIX = "trg_fmt_"
FORMAT_OPTIONS = tuple(Option(f"{FORMAT_PREFIX}{fmt}", f"triage.choice.fmt_{fmt}") for fmt in ("xlsx", "csv", "open311"))
NOTE_LIMIT = 300


@dataclass(frozen=True)
class ChangeReportStatus:
    """Effect: move a report to `status` (a code of bot.reports.STATUSES) and tell everyone behind it."""

    report_id: int
    status: str
    note: str | None = None


@dataclass(frozen=True)
class MergeReports:
    """Effect: close `duplicate_id` into `keep_id`; its reporter and supporters follow."""

    duplicate_id: int
    keep_id: int


@dataclass(frozen=True)
class ExportReports:
    """Effect: write the reports within the staff member's scope as a file (`format`: a
    key of bot.report_export.FORMATS) and send it to them."""

    format: str


def _pick_option(report) -> Option:
    return Option(f"{PICK_PREFIX}{report.id}", "triage.choice.pick", params={"ticket": report.ticket},
                  aliases=(report.ticket.lower(),))


def _picked(ctx: FlowContext, answer: Answer):
    """The open report an answer names, by choice or by a typed ticket; None if none."""
    choice = answer.choice_id or ""
    if choice.startswith(PICK_PREFIX) and choice.removeprefix(PICK_PREFIX).isdigit():
        report_id = int(choice.removeprefix(PICK_PREFIX))
    else:
        report_id = parse_ticket(answer.text) if answer.text else None
    return (report_id, ctx.store.triage.get(report_id)) if report_id is not None else (None, None)


def _chain(key: str, items: list[dict[str, Any]]) -> Say | str:
    said: Say | str = ""
    for item in reversed(items):
        said = Say(key, {**item, "more": said})
    return said


def _place(report) -> Say | str:
    if report.lat is not None and report.lon is not None:
        pin = Say("triage.map", {"lat": f"{report.lat:.6f}", "lon": f"{report.lon:.6f}"})
        return Say("triage.place_map_and", {"map": pin, "text": report.landmark}) if report.landmark else pin
    return report.landmark or Say("triage.place_none")


class TriageFlow(Flow):
    id = "triage"
    first_step = "list"
    roles = STAFF_ROLES
    commands = frozenset({"triage"})

    def command(self, word: str, ctx: FlowContext, argument: str = "") -> Outcome:
        return Outcome(goto="list")

    # -- prompts -----------------------------------------------------------------
    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        if step == "list":
            return self._list(ctx)
        if step == "export":
            return Prompt("triage.ask_format", options=FORMAT_OPTIONS + (LIST,))
        report = ctx.store.triage.get(ctx.data.get("report", 0))
        if report is None:
            return Prompt("triage.gone_back", options=(LIST, MENU))
        if step == "detail":
            return self._detail(report)
        if step == "note":
            status = ctx.data["status"]
            params = {"ticket": report.ticket, "status": Say(f"report.status.{status}")}
            if status not in NEXT_STATUS[report.status]:  # changed meanwhile, or `kembali` after the change
                return Prompt("triage.already_changed", {**params, "status": Say(f"report.status.{report.status}")},
                              options=(LIST, MENU))
            if status == "rejected":
                return Prompt("triage.ask_reason", params, free_text=True)
            return Prompt("triage.ask_note", params, options=(NO_NOTE,), free_text=True)
        if step == "merge":
            others = [r for r in ctx.store.triage.open_reports() if r.id != report.id]
            return Prompt("triage.ask_merge", {"ticket": report.ticket},
                          options=tuple(_pick_option(r) for r in others) + (LIST,), free_text=True)
        if step == "merge_confirm":
            return Prompt("triage.confirm_merge", {"duplicate": report.ticket, "kept": ctx.data["target_ticket"]},
                          options=(MERGE_YES, MERGE_NO))
        raise KeyError(step)

    @staticmethod
    def _list(ctx: FlowContext) -> Prompt:
        reports = ctx.store.triage.open_reports()
        if not reports:
            return Prompt("triage.list_empty", options=(EXPORT, MENU))
        items = [{"ticket": r.ticket, "category": category_say(r.category),
                  "rt": r.rt or Say("report.rt_none"), "status": Say(f"report.status.{r.status}"),
                  "created": When(r.created_at)} for r in reports]
        return Prompt("triage.list", {"reports": _chain("triage.list_item", items)},
                      options=tuple(_pick_option(r) for r in reports) + (EXPORT, MENU), free_text=True)

    @staticmethod
    def _detail(report) -> Prompt:
        params = {
            "ticket": report.ticket, "category": category_say(report.category),
            "rt": report.rt or Say("report.rt_none"), "description": report.description,
            "status": Say(f"report.status.{report.status}"), "created": When(report.created_at),
            "place": _place(report),
            "photos": Say("triage.photos", {"count": report.photos}) if report.photos else Say("triage.photos_none"),
            "people": 1 + report.supporters,
        }
        options = tuple(Option(f"{STATUS_PREFIX}{s}", f"triage.choice.{s}") for s in NEXT_STATUS[report.status])
        return Prompt("triage.detail", params, options=options + (MERGE, LIST))

    # -- answers -------------------------------------------------------------------
    def answer(self, step: str, ctx: FlowContext, answer: Answer) -> Outcome:
        if step == "list":
            return self._answer_list(ctx, answer)
        if answer.choice_id == LIST.id:
            return Outcome(goto="list")
        if answer.choice_id == MENU.id:
            return Outcome(switch="help")
        return getattr(self, f"_answer_{step}")(ctx, answer)

    def _answer_list(self, ctx: FlowContext, answer: Answer) -> Outcome:
        if answer.choice_id == MENU.id:
            return Outcome(switch="help")
        if answer.choice_id == EXPORT.id:
            return Outcome(goto="export")
        report_id, report = _picked(ctx, answer)
        if report is None:
            key = "triage.not_found" if report_id is not None else "triage.pick_unclear"
            return Outcome([Say(key, {"ticket": answer.text.strip()})])
        ctx.data["report"] = report.id
        photo = [Say("triage.photo", {"ticket": report.ticket}, media_url=report.photo_url)] if report.photo_url else []
        return Outcome(photo, goto="detail")

    def _answer_export(self, ctx: FlowContext, answer: Answer) -> Outcome:
        choice = answer.choice_id or ""
        if choice.startswith(FORMAT_PREFIX):
            return Outcome(goto="list", effects=[ExportReports(choice.removeprefix(FORMAT_PREFIX))])
        return Outcome()

    def _answer_detail(self, ctx: FlowContext, answer: Answer) -> Outcome:
        choice = answer.choice_id or ""
        if choice == MERGE.id:
            return Outcome(goto="merge")
        if choice.startswith(STATUS_PREFIX):
            ctx.data["status"] = choice.removeprefix(STATUS_PREFIX)
            return Outcome(goto="note")
        return Outcome()

    def _answer_note(self, ctx: FlowContext, answer: Answer) -> Outcome:
        status, report_id = ctx.data["status"], ctx.data["report"]
        if answer.choice_id == NO_NOTE.id and status != "rejected":
            return Outcome(goto="list", effects=[ChangeReportStatus(report_id, status)])
        note = " ".join(answer.text.split())[:NOTE_LIMIT]
        if status == "rejected" and ctx.pick(note, (NO_NOTE,)):
            return Outcome([Say("triage.reason_required")])
        if letters(note) < 2:
            return Outcome([Say("triage.note_invalid")])
        return Outcome(goto="list", effects=[ChangeReportStatus(report_id, status, note)])

    def _answer_merge(self, ctx: FlowContext, answer: Answer) -> Outcome:
        report_id, target = _picked(ctx, answer)
        if target is None or target.id == ctx.data["report"]:
            key = "triage.not_found" if report_id is not None else "triage.pick_unclear"
            return Outcome([Say(key, {"ticket": answer.text.strip()})])
        ctx.data["target"], ctx.data["target_ticket"] = target.id, target.ticket
        return Outcome(goto="merge_confirm")

    def _answer_merge_confirm(self, ctx: FlowContext, answer: Answer) -> Outcome:
        if answer.choice_id == MERGE_YES.id:
            return Outcome(goto="list", effects=[MergeReports(ctx.data["report"], ctx.data["target"])])
        if answer.choice_id == MERGE_NO.id:
            return Outcome(goto="detail")
        return Outcome()
