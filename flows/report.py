"""Reporting a problem in the kampung (broken road, blocked drain, dark street…) and
following up on it ("laporan saya").

Each answer is kept in the conversation as soon as it is given; the next step is the
first thing still missing, so `kembali` to change one answer leads straight back to
the summary. Photos and shared locations are kept at whatever step they arrive (people
send the photo first), and words typed at the category step ("lampu jalan mati di gang
3", or words naming no category) are kept as the description.
An open report of the same kind in the same RT (last 14 days) is offered for a "+1"
before a new one is written.

    category --> rt (resident has none) --> similar (open ones exist) --+1--> (supported, end)
       |                                       |--new--+
       +---------------------------------------+-------+--> description --> photo --> place
                                                                              (lewati)  (lewati)
    place --> confirm --kirim--> (ticket LPR-0042, end)
                 |--ubah cerita--> description --> confirm
                 |--ganti RT--> rt --> (similar) --> confirm

    (laporan saya) --> mine --buat baru--> category
                         |--menu--> help.menu
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.messages import Media
from flows.base import Answer, Flow, FlowContext, Option, Outcome, Prompt, Say
from flows.choices import letters, rt_options

CATEGORIES = ("road", "drain", "trash", "light", "flood", "hazard", "facility", "other")
CATEGORY_OPTIONS = tuple(Option(f"rpt_{code}", f"report.category.{code}") for code in CATEGORIES)
# Categories words can name; "lainnya" is only ever chosen by the resident.
NAMED_CATEGORIES = tuple(o for o in CATEGORY_OPTIONS if o.id != "rpt_other")
SKIP = Option("rpt_skip", "report.choice.skip")
NEW = Option("rpt_new", "report.choice.new")
NEW_REPORT = Option(NEW.id, "report.choice.new_report")
MENU = Option("menu", "choice.menu")
RT_UNKNOWN = Option("rt_unknown", "choice.rt_unknown")
SUPPORT_PREFIX = "rpt_support_"
MAX_PHOTOS = 3
DESCRIPTION_LIMIT = 1000
LANDMARK_LIMIT = 200
# Typed words beyond a category's name ("lampu mati" is just the name) describe the problem.
DESCRIBING_WORDS = 3


@dataclass(frozen=True)
class FileReport:
    """Effect: store a new report; the handler answers with its ticket number."""

    category: str
    rt: str | None
    description: str
    landmark: str | None = None
    lat: float | None = None
    lon: float | None = None
    photos: tuple[Media, ...] = ()


@dataclass(frozen=True)
class SupportReport:
    """Effect: "+1" an open report (photos sent on the way are added to it)."""

    report_id: int
    photos: tuple[Media, ...] = ()


def category_say(code: str) -> Say:
    return Say(f"report.category.{code}")


def _text(raw: str, limit: int, min_letters: int = 3) -> str | None:
    """What a resident wrote, tidied; None when it has too few letters to mean anything."""
    text = " ".join(raw.split())[:limit]
    return text if letters(text) >= min_letters else None


def _chain(key: str, items: list[dict[str, Any]]) -> Say | str:
    """A list as one message: each item's text ends with {more}, the next item."""
    said: Say | str = ""
    for item in reversed(items):
        said = Say(key, {**item, "more": said})
    return said


class ReportFlow(Flow):
    id = "report"
    first_step = "category"
    commands = frozenset({"my_reports", "report_about", "opened_with"})

    def command(self, word: str, ctx: FlowContext, argument: str = "") -> Outcome:
        if word == "my_reports":
            return Outcome(goto="mine")
        # "lapor lampu mati depan masjid", or those words typed at the main menu: they
        # describe the problem, and may already name its category.
        category = ctx.pick(argument, NAMED_CATEGORIES) if argument else None
        if category:
            outcome = self._answer_category(ctx, Answer(text=argument, choice_id=category))
            outcome.say.insert(0, Say("report.understood", {"category": category_say(category.removeprefix("rpt_"))}))
            return outcome
        if len(argument.split()) >= 2 and (text := _text(argument, DESCRIPTION_LIMIT)):
            ctx.data["description"] = text
        return Outcome(goto="category")

    # -- prompts -----------------------------------------------------------------
    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        data = ctx.data
        if step == "category":
            if "description" in data:
                return Prompt("report.ask_category_for", {"text": data["description"]}, options=CATEGORY_OPTIONS,
                              free_text=True, accepts_media=True)
            return Prompt("report.ask_category", options=CATEGORY_OPTIONS, free_text=True, accepts_media=True)
        if step == "rt":
            return Prompt("report.ask_rt", {"rw": ctx.kampung.rw}, options=rt_options(ctx.kampung) + (RT_UNKNOWN,),
                          accepts_media=True)
        if step == "similar":
            similar = data["similar"]
            options = tuple(Option(f"{SUPPORT_PREFIX}{i}", "report.choice.support", params={"ticket": s["ticket"]})
                            for i, s in enumerate(similar, 1))
            params = {"category": category_say(data["category"]), "rt": data["rt"],
                      "reports": _chain("report.similar_item", similar)}
            return Prompt("report.similar", params, options=options + (NEW,), accepts_media=True)
        if step == "description":
            return Prompt("report.ask_description", {"category": category_say(data["category"])}, free_text=True,
                          accepts_media=True)
        if step == "photo":
            return Prompt("report.ask_photo", options=(SKIP,), free_text=True, accepts_media=True)
        if step == "place":
            return Prompt("report.ask_place", options=(SKIP,), free_text=True, accepts_media=True)
        if step == "confirm":
            options = (Option("rpt_send", "report.choice.send"), Option("rpt_edit_text", "report.choice.edit_text"))
            if ctx.kampung.rts:
                options += (Option("rpt_change_rt", "report.choice.change_rt"),)
            return Prompt("report.confirm", self._summary(data), options=options, accepts_media=True)
        if step == "mine":
            return self._mine(ctx)
        raise KeyError(step)

    @staticmethod
    def _summary(data: dict) -> dict[str, Any]:
        place = data.get("place") or {}
        if "lat" in place:
            where = Say("report.place_pin_and", {"text": place["text"]}) if "text" in place else Say("report.place_pin")
        else:
            where = place.get("text") or Say("report.place_none")
        photos = len(data.get("photos") or ())
        return {
            "category": category_say(data["category"]),
            "description": data["description"],
            "rt": Say("choice.rt", {"rt": data["rt"]}) if data.get("rt") else Say("report.rt_none"),
            "photos": Say("report.photos_count", {"count": photos}) if photos else Say("report.photos_none"),
            "place": where,
        }

    @staticmethod
    def _mine(ctx: FlowContext) -> Prompt:
        reports = ctx.store.reports.mine()
        if not reports:
            return Prompt("report.mine_empty", options=(NEW_REPORT, MENU))
        items = [{
            "ticket": r.ticket,
            "category": category_say(r.category),
            "status": Say(f"report.status.{r.status}"),
            "whose": "" if r.own else Say("report.mine_supported"),
            "note": Say("report.mine_note", {"note": r.note}) if r.note else "",
        } for r in reports]
        return Prompt("report.mine", {"reports": _chain("report.mine_item", items)}, options=(NEW_REPORT, MENU))

    # -- answers -------------------------------------------------------------------
    def answer(self, step: str, ctx: FlowContext, answer: Answer) -> Outcome:
        if step == "mine":
            if answer.choice_id == NEW_REPORT.id:
                ctx.data.clear()
                return Outcome(goto="category")
            return Outcome(switch="help")
        acks = _keep_attachments(ctx.data, answer)
        outcome = getattr(self, f"_answer_{step}")(ctx, answer)
        outcome.say[:0] = acks
        return outcome

    def _answer_category(self, ctx: FlowContext, answer: Answer) -> Outcome:
        data = ctx.data
        text = _text(answer.text, DESCRIPTION_LIMIT)
        if answer.choice_id:
            data["category"] = answer.choice_id.removeprefix("rpt_")
            # "lampu jalan mati di gang 3" names the category and describes the problem.
            if text and len(text.split()) >= DESCRIBING_WORDS:
                data["description"] = text
            data.pop("similar", None)
            if "rt" not in data and (ctx.resident.rt or not ctx.kampung.rts):
                data["rt"] = ctx.resident.rt
            return self._next(ctx)
        if not answer.text:
            return Outcome()
        if text and len(text.split()) >= 2 and "description" not in data:
            data["description"] = text
            return Outcome([Say("report.category_unclear_kept")])
        return Outcome([Say("report.category_unclear")])

    def _answer_rt(self, ctx: FlowContext, answer: Answer) -> Outcome:
        if not answer.choice_id:
            return Outcome()
        ctx.data["rt"] = None if answer.choice_id == RT_UNKNOWN.id else answer.choice_id
        ctx.data.pop("similar", None)
        return self._next(ctx)

    def _answer_similar(self, ctx: FlowContext, answer: Answer) -> Outcome:
        choice = answer.choice_id or ""
        if choice.startswith(SUPPORT_PREFIX):
            chosen = ctx.data["similar"][int(choice.removeprefix(SUPPORT_PREFIX)) - 1]
            if ctx.store.reports.is_open(chosen["id"]):
                return Outcome(effects=[SupportReport(chosen["id"], _photos(ctx.data))], end=True)
            ctx.data["similar_declined"] = True
            return self._next(ctx, Say("report.support_closed", {"ticket": chosen["ticket"]}))
        if choice == NEW.id:
            ctx.data["similar_declined"] = True
            return self._next(ctx)
        return Outcome()

    def _answer_description(self, ctx: FlowContext, answer: Answer) -> Outcome:
        if not answer.text:
            return Outcome()
        text = _text(answer.text, DESCRIPTION_LIMIT)
        if not text:
            return Outcome([Say("report.description_invalid")])
        ctx.data["description"] = text
        return self._next(ctx)

    def _answer_photo(self, ctx: FlowContext, answer: Answer) -> Outcome:
        if answer.choice_id == SKIP.id:
            ctx.data.setdefault("photos", [])
            return self._next(ctx)
        if answer.media:
            return self._next(ctx)
        return Outcome([Say("report.photo_or_skip")] if answer.text else [])

    def _answer_place(self, ctx: FlowContext, answer: Answer) -> Outcome:
        if answer.choice_id == SKIP.id:
            ctx.data["place"] = {}
            return self._next(ctx)
        if answer.location:
            return self._next(ctx)
        if not answer.text:
            return Outcome()
        text = _text(answer.text, LANDMARK_LIMIT, min_letters=2)
        if not text:
            return Outcome([Say("report.place_invalid")])
        ctx.data["place"] = {**ctx.data.get("place", {}), "text": text}
        return self._next(ctx)

    def _answer_confirm(self, ctx: FlowContext, answer: Answer) -> Outcome:
        data = ctx.data
        if answer.choice_id == "rpt_edit_text":
            return Outcome(goto="description")
        if answer.choice_id == "rpt_change_rt":
            return Outcome(goto="rt")
        if answer.choice_id != "rpt_send":
            return Outcome()
        place = data.get("place") or {}
        return Outcome(effects=[FileReport(
            category=data["category"], rt=data.get("rt"), description=data["description"],
            landmark=place.get("text"), lat=place.get("lat"), lon=place.get("lon"), photos=_photos(data),
        )], end=True)

    # -- what comes next ---------------------------------------------------------
    @staticmethod
    def _next(ctx: FlowContext, *say: Say) -> Outcome:
        """Go to the first step still unanswered (the summary when none is)."""
        data = ctx.data
        if "rt" not in data:
            return Outcome(list(say), goto="rt")
        if "similar" not in data:
            found = ctx.store.reports.similar(data["category"], data["rt"]) if data["rt"] else []
            data["similar"] = [{"id": s.id, "ticket": s.ticket, "text": s.text, "count": s.count} for s in found]
            data.pop("similar_declined", None)
        if data["similar"] and not data.get("similar_declined"):
            return Outcome(list(say), goto="similar")
        for key, step in (("description", "description"), ("photos", "photo"), ("place", "place")):
            if key not in data:
                return Outcome(list(say), goto=step)
        return Outcome(list(say), goto="confirm")


def _keep_attachments(data: dict, answer: Answer) -> list[Say]:
    """Photos and a shared location are kept whenever they come; says what was kept."""
    said = []
    if answer.media:
        photos = data.setdefault("photos", [])
        room = MAX_PHOTOS - len(photos)
        photos.extend({"url": m.url, "content_type": m.content_type} for m in answer.media[:max(room, 0)])
        said.append(Say("report.photo_received", {"count": len(photos)}) if room > 0
                    else Say("report.photo_limit", {"count": MAX_PHOTOS}))
    if answer.location:
        data["place"] = {**data.get("place", {}), "lat": answer.location.lat, "lon": answer.location.lon}
        said.append(Say("report.location_received"))
    return said


def _photos(data: dict) -> tuple[Media, ...]:
    return tuple(Media(p["url"], p["content_type"]) for p in data.get("photos") or ())
