"""A resident's first conversation: welcome, consent (UU PDP 27/2022), name, RT,
paguyuban memberships, language. Each answer is stored as soon as it is given, so a
pause or a restart loses nothing. On Telegram, which has no phone number, the consent
question also offers the "share my number" button: someone already registered (on
WhatsApp, or by their RT head) is then recognised and skips the rest (bot.residents.link_phone).

    consent --setuju--> name --> rt --> paguyuban --> language --> help.menu
       |                    (or "belum tahu") (several, or skip)
       +--tolak--> declined --setuju--> name
"""
from __future__ import annotations

from flows.base import (
    Answer,
    Flow,
    FlowContext,
    Option,
    Outcome,
    Prompt,
    RecordConsent,
    Say,
    UpdateProfile,
)
from flows.choices import SHARE, language_options, paguyuban_options, rt_options, share_phone, valid_name

CONSENT_OPTIONS = (Option("agree", "choice.agree"), Option("decline", "choice.decline"))
# Not everyone knows their RT number; nobody should be stuck here for it.
RT_UNKNOWN = Option("rt_unknown", "choice.rt_unknown")


class OnboardingFlow(Flow):
    id = "onboarding"
    first_step = "consent"

    def intro(self, ctx: FlowContext) -> list[Say]:
        return [Say("onboarding.welcome", {"kampung": ctx.kampung.name, "kelurahan": ctx.kampung.kelurahan})]

    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        if step == "consent":
            return Prompt("onboarding.consent", options=CONSENT_OPTIONS + share_phone(ctx.resident))
        if step == "declined":
            return Prompt("onboarding.declined", options=CONSENT_OPTIONS[:1] + share_phone(ctx.resident))
        if step == "name":
            suggested = ctx.data.get("profile_name")
            options = (Option("use_profile", "choice.use_profile_name", params={"name": suggested}),) if suggested else ()
            return Prompt("onboarding.name", options=options, free_text=True)
        if step == "rt":
            return Prompt("onboarding.rt", {"rw": ctx.kampung.rw}, options=rt_options(ctx.kampung) + (RT_UNKNOWN,))
        if step == "paguyuban":
            return Prompt("onboarding.paguyuban", options=paguyuban_options(ctx.kampung), multi=True)
        if step == "language":
            return Prompt("onboarding.language", options=language_options())
        raise KeyError(step)

    def answer(self, step: str, ctx: FlowContext, answer: Answer) -> Outcome:
        if step in ("consent", "declined"):
            if answer.choice_id == SHARE.id:  # typed, or a channel without the button
                return Outcome([Say("onboarding.share_phone_how")])
            if answer.choice_id == "agree":
                return Outcome([Say("onboarding.thanks_consent")], goto="name", effects=[RecordConsent()])
            return Outcome(goto="declined")
        if step == "name":
            name = ctx.data.get("profile_name") if answer.choice_id == "use_profile" else valid_name(answer.text)
            if not name:
                return Outcome([Say("onboarding.name_invalid")])
            return Outcome(goto="rt", effects=[UpdateProfile(name=name)])
        if step == "rt":
            if answer.choice_id == RT_UNKNOWN.id:
                return Outcome([Say("onboarding.rt_later")], goto="paguyuban")
            return Outcome(goto="paguyuban", effects=[UpdateProfile(rt=answer.choice_id)])
        if step == "paguyuban":
            chosen = tuple(cid for cid in answer.choice_ids if cid != "none")
            return Outcome(goto="language", effects=[UpdateProfile(paguyuban=chosen)])
        if step == "language":
            return Outcome(
                [Say("onboarding.done", {"name": ctx.resident.name or ""})],
                switch="help",
                effects=[UpdateProfile(language=answer.choice_id)],
            )
        raise KeyError(step)
