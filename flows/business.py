"""Register a home business, keep its licence gap visible, and find each other's
businesses. Most of the 96 home businesses in one kampung never moved to the
risk-based NIB because it looked complicated: here every question is one tap or a
few words, defaults are offered, and each missing licence gets one plain next step.

    home --daftar--> name -> owner -> category -> products -> order -> photo -> rt
      |                 -> nib [-> nib_oss] [-> pirt -> halal (food)] -> haki -> listing
      |                 -> confirm --simpan--> (saved + licence steps) home
      |                      '--ubah--> fix --field--> <that step> ... --> confirm
      |--<a business>--> view --ubah--> fix ... confirm --simpan--> home
      |                    |--tampilkan/sembunyikan, izin--> view
      |                    '--hapus--> delete_confirm --ya--> home
      '--cari--> search --words--> (matching businesses) search

Global words: "usaha saya" (home), "cari keripik" / "ada yang jual kue?" at the main
menu (search). The draft lives in the conversation state, so a pause or a restart
loses nothing; it is written only on "simpan".
"""
from __future__ import annotations

from typing import Any

from flows.base import Answer, Flow, FlowContext, Option, Outcome, Prompt, Say
from flows.business_draft import (
    CATEGORIES,
    DRAFT_KEYS,
    NIB_STATES,
    DeleteBusiness,
    SaveBusiness,
    SetListing,
    category_key,
    contact_param,
    contact_text,
    display_phone,
    guidance,
    missing_licences,
    needs_food_licences,
    parse_contact,
    valid_products,
)
from flows.choices import rt_options, valid_name

# The registration questions in order; a fix re-asks one and returns to `confirm`.
STEPS = ("name", "owner", "category", "products", "order", "photo", "rt",
         "nib", "nib_oss", "pirt", "halal", "haki", "listing")
LICENCE_STEPS = ("nib", "nib_oss", "pirt", "halal", "haki")
# The draft key each step fills (nib_oss refines "nib").
FIELD = {"listing": "listed", "nib_oss": "nib"}
FIX_STEPS = ("name", "owner", "category", "products", "order", "photo", "rt", "nib", "listing")
SEARCH_SHOWN = 5
# Steps answered by a choice: choice id -> stored value.
_YES_NO = {"biz_yes": True, "biz_no": False}
CHOICE_VALUES = {
    "nib": {"biz_yes": "has", "biz_no": "none", "biz_unsure": "none"},  # "has": nib_oss tells which
    "nib_oss": {"biz_yes": "rba", "biz_no": "old", "biz_unsure": "unsure"},
    "pirt": _YES_NO, "halal": _YES_NO, "haki": _YES_NO,
    "listing": {"biz_list_yes": True, "biz_list_no": False},
}
# The reply to a free-text answer that cannot be used; choices get common.not_understood.
INVALID_REPLY = {
    "name": "business.name_invalid", "owner": "business.owner_invalid", "products": "business.products_invalid",
    "order": "business.order_invalid", "photo": "business.photo_need",
}
_INVALID = object()

YES = Option("biz_yes", "business.choice.yes")
NO = Option("biz_no", "business.choice.no")
UNSURE = Option("biz_unsure", "business.choice.unsure")
MENU = Option("menu", "choice.menu")
MINE = Option("biz_mine", "business.choice.mine")
RT_UNKNOWN = Option("rt_unknown", "choice.rt_unknown")
HOME_OPTIONS = (Option("biz_register", "business.choice.register"), Option("biz_search", "business.choice.search"),
                MENU)
FIX_OPTIONS = tuple(Option(f"biz_fix_{step}", f"business.field.{step}") for step in FIX_STEPS)
LISTING_OPTIONS = (Option("biz_list_yes", "business.choice.list_yes"), Option("biz_list_no", "business.choice.list_no"))


class BusinessFlow(Flow):
    id = "business"
    first_step = "home"
    commands = frozenset({"mybusiness", "search"})

    def command(self, word: str, ctx: FlowContext, argument: str = "") -> Outcome:
        if word == "search":
            return self._search(ctx, argument) if argument else Outcome(goto="search")
        return Outcome(goto="home")

    # -- prompts -----------------------------------------------------------------
    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        if step in STEPS:
            return self._question(step, ctx, ctx.data.setdefault("draft", {}))
        if step == "home":
            mine = ctx.store.businesses.mine()
            options = tuple(Option(f"biz_item_{b['id']}", label=b["name"]) for b in mine) + HOME_OPTIONS
            return Prompt("business.home" if mine else "business.home_empty", {"count": len(mine)}, options=options,
                          intents=True)
        if step == "confirm":
            options = (Option("biz_save", "business.choice.save"), Option("biz_fix", "business.choice.fix"))
            return Prompt("business.confirm", {"summary": summary(ctx.data.get("draft", {}))}, options=options)
        if step == "fix":
            return Prompt("business.fix", options=FIX_OPTIONS)
        if step == "view":
            return self._view(ctx)
        if step == "delete_confirm":
            business = ctx.store.businesses.get(ctx.data.get("selected"))
            options = (Option("biz_delete_yes", "business.choice.delete_yes"),
                       Option("biz_delete_no", "business.choice.delete_no"))
            return Prompt("business.delete_confirm", {"name": business["name"] if business else "-"}, options=options)
        if step == "search":
            key = "business.search_again" if ctx.data.get("searched") else "business.search"
            return Prompt(key, options=(MENU,), free_text=True, intents=True)
        raise KeyError(step)

    def _question(self, step: str, ctx: FlowContext, draft: dict[str, Any]) -> Prompt:
        r = ctx.resident
        if step == "name":
            return Prompt("business.name", free_text=True)
        if step == "owner":
            if not r.name:
                return Prompt("business.owner_ask", free_text=True)
            me = Option("biz_owner_me", "business.choice.owner_me", params={"name": r.name})
            return Prompt("business.owner", options=(me,), free_text=True)
        if step == "category":
            return Prompt("business.category", options=tuple(Option(c, category_key(c)) for c in CATEGORIES))
        if step == "products":
            return Prompt("business.products", free_text=True)
        if step == "order":
            if not r.phone:
                return Prompt("business.order_ask", free_text=True)
            mine = Option("biz_order_mine", "business.choice.order_mine", params={"phone": display_phone(r.phone)})
            return Prompt("business.order", options=(mine,), free_text=True)
        if step == "photo":
            return Prompt("business.photo", options=(Option("biz_skip", "business.choice.skip"),), free_text=True,
                          accepts_media=True)
        if step == "rt":
            mine = (Option("biz_rt_mine", "business.choice.rt_mine", params={"rt": r.rt}),) if r.rt else ()
            # RTs first, so that a number typed means that RT and that line alike.
            return Prompt("business.rt", options=rt_options(ctx.kampung) + mine + (RT_UNKNOWN,))
        if step == "nib":
            return Prompt("business.nib", options=(YES, NO, UNSURE))
        if step == "nib_oss":
            return Prompt("business.nib_oss", options=(YES, NO, UNSURE))
        if step == "listing":
            return Prompt("business.listing", {"order": contact_text(draft.get("order"))}, options=LISTING_OPTIONS)
        return Prompt(f"business.{step}", options=(YES, NO))  # pirt, halal, haki

    def _view(self, ctx: FlowContext) -> Prompt:
        business = ctx.store.businesses.get(ctx.data.get("selected"))
        if business is None:
            return Prompt("business.gone", options=(MINE,))
        options = [Option("biz_edit", "business.choice.edit"),
                   Option("biz_hide", "business.choice.hide") if business["listed"] else
                   Option("biz_show", "business.choice.show")]
        if missing_licences(business):
            options.append(Option("biz_guide", "business.choice.guide"))
        options += [Option("biz_delete", "business.choice.delete"), MINE]
        return Prompt("business.view", {"summary": summary(business)}, options=tuple(options))

    # -- answers -----------------------------------------------------------------
    def answer(self, step: str, ctx: FlowContext, answer: Answer) -> Outcome:
        if step in STEPS:
            return self._fill(step, ctx, ctx.data.setdefault("draft", {}), answer)
        choice = answer.choice_id
        if step == "home":
            return self._home(ctx, answer)
        if step == "confirm":
            return self._save(ctx) if choice == "biz_save" else Outcome(goto="fix")
        if step == "fix":
            target = (choice or "").removeprefix("biz_fix_")
            ctx.data["fixing"] = target
            return Outcome(goto=target)
        if step == "view":
            return self._view_answer(ctx, choice)
        if step == "delete_confirm":
            business = ctx.store.businesses.get(ctx.data.get("selected"))
            if choice == "biz_delete_yes" and business:
                return Outcome([Say("business.deleted", {"name": business["name"]})],
                               effects=[DeleteBusiness(business["id"])], switch=self.id, switch_step="home")
            return Outcome(goto="view")
        if step == "search":
            if choice == "menu":
                return Outcome(switch="help")
            return self._search(ctx, answer.text) if answer.text else Outcome([Say("common.need_text")])
        raise KeyError(step)

    def _home(self, ctx: FlowContext, answer: Answer) -> Outcome:
        choice = answer.choice_id or ""
        if choice == "biz_register":
            ctx.data.clear()
            ctx.data["draft"] = {}
            return Outcome(goto="name")
        if choice == "biz_search":
            ctx.data.pop("searched", None)
            return Outcome(goto="search")
        if choice == "menu":
            return Outcome(switch="help")
        if choice.startswith("biz_item_"):
            ctx.data["selected"] = int(choice.removeprefix("biz_item_"))
            return Outcome(goto="view")
        if answer.intent and answer.intent != self.id:
            return Outcome(switch=answer.intent)
        return Outcome([Say("common.not_understood")])

    def _fill(self, step: str, ctx: FlowContext, draft: dict[str, Any], answer: Answer) -> Outcome:
        """Store one answer in the draft and move on; a bad answer is asked again."""
        value = _value(step, ctx, answer)
        if value is _INVALID:
            return Outcome([Say(INVALID_REPLY.get(step, "common.not_understood"))])
        if step == "category" and not needs_food_licences(value):
            draft.pop("pirt", None)
            draft.pop("halal", None)
        draft[FIELD.get(step, step)] = value
        say = [Say("business.photo_saved")] if step == "photo" and value else []
        return Outcome(say, goto=self._after(step, ctx))

    def _after(self, step: str, ctx: FlowContext) -> str:
        """The next question. While fixing one field, only what that change left
        unanswered is asked (a new food category asks PIRT and halal), then the
        summary again; fixing licences walks the licence questions."""
        draft, fixing = ctx.data["draft"], ctx.data.get("fixing")
        rest = [s for s in STEPS[STEPS.index(step) + 1:] if _applies(s, draft)]
        if not fixing:
            return rest[0] if rest else "confirm"
        if fixing == "nib" and step in LICENCE_STEPS:
            rest = [s for s in rest if s in LICENCE_STEPS]
        else:
            rest = [s for s in rest if not _answered(s, draft)]
        return rest[0] if rest else "confirm"

    def _save(self, ctx: FlowContext) -> Outcome:
        draft = ctx.data.get("draft", {})
        gap = next((s for s in STEPS if _applies(s, draft) and not _answered(s, draft)), None)
        if gap:
            ctx.data["fixing"] = gap
            return Outcome([Say("business.incomplete")], goto=gap)
        business_id = ctx.data.get("business_id")
        says = [Say("business.saved_update" if business_id else "business.saved_new", {"name": draft["name"]})]
        return Outcome(says + guidance(draft), effects=[SaveBusiness(business_id, dict(draft))],
                       switch=self.id, switch_step="home")

    def _view_answer(self, ctx: FlowContext, choice: str | None) -> Outcome:
        business = ctx.store.businesses.get(ctx.data.get("selected"))
        if business is None or choice == MINE.id:
            return Outcome(goto="home")
        if choice == "biz_edit":
            ctx.data.update(draft={k: business[k] for k in DRAFT_KEYS}, business_id=business["id"])
            ctx.data.pop("fixing", None)
            return Outcome(goto="fix")
        if choice in ("biz_show", "biz_hide"):
            listed = choice == "biz_show"
            say = Say("business.listing_on" if listed else "business.listing_off", {"name": business["name"]})
            return Outcome([say], effects=[SetListing(business["id"], listed)])
        if choice == "biz_guide":
            return Outcome(guidance(business))
        return Outcome(goto="delete_confirm")

    # -- search ------------------------------------------------------------------
    def _search(self, ctx: FlowContext, query: str) -> Outcome:
        query = query[:60].strip()
        ctx.data["searched"] = True
        found, related = ctx.store.businesses.search(query)
        if not found:
            return Outcome([Say("business.search_none", {"query": query})], goto="search")
        header = "business.search_related" if related else "business.search_found"
        says = [Say(header, {"count": len(found), "query": query})]
        says += [Say("business.search_item", card(b)) for b in found[:SEARCH_SHOWN]]
        if len(found) > SEARCH_SHOWN:
            says.append(Say("business.search_more", {"more": len(found) - SEARCH_SHOWN}))
        return Outcome(says, goto="search")


def _value(step: str, ctx: FlowContext, answer: Answer) -> Any:
    """What an answer means for the draft; None is a real value (no photo, RT not
    known), `_INVALID` asks again."""
    choice, r, text = answer.choice_id, ctx.resident, answer.text
    if step in CHOICE_VALUES:
        value = CHOICE_VALUES[step].get(choice)
    elif step == "name":
        value = valid_name(text)
    elif step == "owner":
        value = r.name if choice == "biz_owner_me" else valid_name(text)
    elif step == "category":
        value = choice if choice in CATEGORIES else None
    elif step == "products":
        value = valid_products(text)
    elif step == "order":
        value = r.phone if choice == "biz_order_mine" else parse_contact(text)
    elif step == "photo":
        if choice == "biz_skip":
            return None
        value = {"url": answer.media[0].url, "content_type": answer.media[0].content_type} if answer.media else None
    else:  # rt
        if choice == RT_UNKNOWN.id:
            return None
        value = r.rt if choice == "biz_rt_mine" else choice
    return _INVALID if value is None else value


def _applies(step: str, draft: dict[str, Any]) -> bool:
    if step == "nib_oss":
        return draft.get("nib") not in (None, "none")
    if step in ("pirt", "halal"):
        return needs_food_licences(draft.get("category"))
    return True


def _answered(step: str, draft: dict[str, Any]) -> bool:
    if step == "nib_oss":
        return draft.get("nib") != "has"
    return FIELD.get(step, step) in draft


def card(business: dict[str, Any]) -> dict[str, Any]:
    """A directory entry's placeholders."""
    return {"name": business["name"], "category": Say(category_key(business["category"])),
            "rt": business["rt"] or "-", "products": business["products"], "order": contact_param(business["order"])}


def summary(draft: dict[str, Any]) -> Say:
    """Everything about a business in one message, for checking before saving."""
    def status(value: Any) -> Say:
        return Say("business.status.yes" if value else "business.status.no")

    nib = draft.get("nib") if draft.get("nib") in NIB_STATES else "unsure"  # "has" until nib_oss answers
    licence_params = {"nib": Say(f"business.nib_status.{nib}"), "haki": status(draft.get("haki"))}
    if needs_food_licences(draft.get("category")):
        licences = Say("business.licences_food", {**licence_params, "pirt": status(draft.get("pirt")),
                                                  "halal": status(draft.get("halal"))})
    else:
        licences = Say("business.licences", licence_params)
    return Say("business.summary", {
        "name": draft.get("name") or "-",
        "owner": draft.get("owner") or "-",
        "category": Say(category_key(draft["category"])) if draft.get("category") else "-",
        "products": draft.get("products") or "-",
        "order": contact_param(draft.get("order")),
        "photo": Say("business.photo_yes" if draft.get("photo") else "business.photo_no"),
        "rt": draft.get("rt") or "-",
        "licences": licences,
        "listing": Say("business.listed_yes" if draft.get("listed") else "business.listed_no"),
    })
