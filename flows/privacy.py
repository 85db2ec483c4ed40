"""A resident's rights under UU PDP 27/2022: see everything stored ("data saya"),
correct it ("ubah data", "bahasa"), and erase it ("hapus data saya").

    show --ubah--> edit --> edit_name | edit_rt | edit_paguyuban | language --> help.menu
      |--hapus--> erase_confirm --ya--> (erased, conversation ends)
      |--bagikan nomor HP (Telegram)--> (the contact joins this account to its phone number) show
"""
from __future__ import annotations

from flows.base import Answer, EraseMe, Flow, FlowContext, Option, Outcome, Prompt, Say, UpdateProfile
from flows.choices import SHARE, language_options, paguyuban_options, rt_options, share_phone, valid_name

COMMAND_STEPS = {"mydata": "show", "edit": "edit", "erase": "erase_confirm", "language": "language"}
EDIT_FIELDS = ("edit_name", "edit_rt", "edit_paguyuban", "language")


class PrivacyFlow(Flow):
    id = "privacy"
    first_step = "show"
    commands = frozenset(COMMAND_STEPS)

    def command(self, word: str, ctx: FlowContext, argument: str = "") -> Outcome:
        return Outcome(goto=COMMAND_STEPS[word])

    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        r = ctx.resident
        if step == "show":
            params = {
                "name": r.name or "-",
                "phone": r.phone or "-",
                "rt": r.rt or "-",
                "rw": ctx.kampung.rw,
                "paguyuban": ", ".join(r.paguyuban) or "-",
                "channels": ", ".join(r.channels),
                "announcements": Say("privacy.announcements_off" if r.opted_out else "privacy.announcements_on"),
            }
            options = (Option("edit", "choice.edit_data"), Option("erase", "choice.erase_data"), *share_phone(r),
                       Option("menu", "choice.menu"))
            return Prompt("privacy.show", params, options=options)
        if step == "edit":
            return Prompt("privacy.edit", options=tuple(Option(f, f"privacy.field.{f}") for f in EDIT_FIELDS))
        if step == "edit_name":
            return Prompt("privacy.edit_name", {"name": r.name or "-"}, free_text=True)
        if step == "edit_rt":
            return Prompt("privacy.edit_rt", {"rt": r.rt or "-"}, options=rt_options(ctx.kampung))
        if step == "edit_paguyuban":
            return Prompt("privacy.edit_paguyuban", options=paguyuban_options(ctx.kampung), multi=True)
        if step == "language":
            return Prompt("privacy.language", options=language_options())
        if step == "erase_confirm":
            return Prompt("privacy.erase_confirm", options=(Option("yes", "choice.yes_erase"), Option("no", "choice.no_keep")))
        raise KeyError(step)

    def answer(self, step: str, ctx: FlowContext, answer: Answer) -> Outcome:
        choice = answer.choice_id
        if step == "show":
            if choice == "menu":
                return Outcome(switch="help")
            if choice == SHARE.id:  # typed, or a channel without the button
                return Outcome([Say("onboarding.share_phone_how")])
            return Outcome(goto="edit" if choice == "edit" else "erase_confirm")
        if step == "edit":
            return Outcome(goto=choice)
        if step == "edit_name":
            name = valid_name(answer.text)
            if not name:
                return Outcome([Say("onboarding.name_invalid")])
            return self._saved(UpdateProfile(name=name))
        if step == "edit_rt":
            return self._saved(UpdateProfile(rt=choice))
        if step == "edit_paguyuban":
            return self._saved(UpdateProfile(paguyuban=tuple(c for c in answer.choice_ids if c != "none")))
        if step == "language":
            return Outcome([Say("privacy.language_saved")], switch="help", effects=[UpdateProfile(language=choice)])
        if step == "erase_confirm":
            if choice == "yes":
                return Outcome([Say("privacy.erased")], effects=[EraseMe()], end=True)
            return Outcome([Say("privacy.erase_cancelled")], switch="help")
        raise KeyError(step)

    @staticmethod
    def _saved(effect: UpdateProfile) -> Outcome:
        return Outcome([Say("privacy.saved")], goto="show", effects=[effect])
