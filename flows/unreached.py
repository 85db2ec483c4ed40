"""Who the bot cannot reach ("warga tak terjangkau"): an RT head sees the residents of
their RT whose messages do not arrive, with the reason, so they can tell them in person;
the koordinator and ketua RW pick any RT. Names only (a phone masked), never numbers.

    list --RT (when more than one)--> list (that RT) --RT lain--> list (pick again)
                                         |--menu pengurus--> staff

Also how reach and delivery counts are said, for the announcement and event previews,
summaries and desk commands (`reach` is a bot.notify.Reach).
"""
from __future__ import annotations

from flows.base import Answer, Flow, FlowContext, Option, Outcome, Prompt, Say
from flows.choices import rt_picks
from flows.scope import STAFF_ROLES, scope_of

CHANNEL_ORDER = ("whatsapp", "telegram", "sms", "console")
# Every reason the catalogue says (delivery.reason.*), in the order summaries list them.
REASON_ORDER = ("stopped", "no_channel", "no_phone", "refused", "not_on_whatsapp", "blocked", "invalid_number",
                "unsubscribed", "chat_not_found", "outside_window", "gave_up")
RT_PREFIX = "unr_rt:"
OTHER_RT = Option("unr_other_rt", "delivery.choice.other_rt")
STAFF = Option("staff", "delivery.choice.staff")
MENU = Option("menu", "choice.menu")


def _chain(first: str, more: str, items: list[dict]) -> Say | str:
    """Items joined: the first through key `first`, the rest through `more` (which
    starts with its separator)."""
    said: Say | str = ""
    for index in range(len(items) - 1, -1, -1):
        said = Say(first if index == 0 else more, {**items[index], "more": said})
    return said


def channels_say(channels: dict[str, int]) -> Say | str:
    """" (WhatsApp 40, Telegram 5)", or nothing when nobody is reached."""
    items = [{"channel": Say(f"delivery.channel.{c}"), "count": channels[c]} for c in CHANNEL_ORDER
             if channels.get(c)]
    listed = _chain("delivery.channel_count", "delivery.channel_count_more", items)
    return Say("delivery.channels", {"list": listed}) if listed else ""


def reason_say(reason: str) -> Say:
    """Why, in plain words; a reason this catalogue does not know yet is a refusal."""
    return Say(f"delivery.reason.{reason if reason in REASON_ORDER else 'refused'}")


def reasons_say(counts: dict[str, int]) -> Say | str:
    """"2 nomor tidak aktif di WhatsApp; 1 memblokir bot", in a fixed order."""
    order = ([r for r in REASON_ORDER if counts.get(r)]
             + sorted(r for r in counts if r not in REASON_ORDER and counts[r]))
    return _chain("delivery.reason_count", "delivery.reason_count_more",
                  [{"count": counts[r], "reason": reason_say(r)} for r in order])


def unreached_say(key: str, reach) -> Say | str:
    """`key` ({count}, {reasons}) for those `reach` does not reach, STOP left out (it is
    said apart); nothing when it reaches everyone else."""
    counts = {r: n for r, n in reach.unreached.items() if r != "stopped"}
    total = sum(counts.values())
    return Say(key, {"count": total, "reasons": reasons_say(counts)}) if total else ""


class UnreachedFlow(Flow):
    id = "unreached"
    first_step = "list"
    roles = STAFF_ROLES
    commands = frozenset({"unreached"})

    def command(self, word: str, ctx: FlowContext, argument: str = "") -> Outcome:
        ctx.data.pop("rt", None)
        return Outcome(goto="list")

    @staticmethod
    def _rts(ctx: FlowContext) -> list[str]:
        scope = scope_of(ctx.resident)
        return list(ctx.kampung.rts) if scope.everything else sorted(scope.rts)

    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        rts = self._rts(ctx)
        rt = ctx.data.get("rt") or (rts[0] if len(rts) == 1 else None)
        if not rts:
            return Prompt("delivery.unreached_no_rt", options=(STAFF, MENU))
        if rt is None:
            return Prompt("delivery.unreached_ask_rt", options=rt_picks(rts, RT_PREFIX, "delivery.choice.rt") + (STAFF, MENU))
        more = (OTHER_RT,) if len(rts) > 1 else ()
        people = ctx.store.broadcasts.unreached(rt)
        if not people:
            return Prompt("delivery.unreached_none", {"rt": rt}, options=more + (STAFF, MENU))
        items = [{"name": p.name, "phone": Say("delivery.unreached_phone", {"phone": p.phone}) if p.phone else "",
                  "reason": reason_say(p.reason)} for p in people]
        listed = _chain("delivery.unreached_item", "delivery.unreached_item", items)
        return Prompt("delivery.unreached_list", {"rt": rt, "count": len(people), "items": listed},
                      options=more + (STAFF, MENU))

    def answer(self, step: str, ctx: FlowContext, answer: Answer) -> Outcome:
        choice = answer.choice_id or ""
        if choice == MENU.id:
            return Outcome(switch="help")
        if choice == STAFF.id:
            return Outcome(switch="staff")
        if choice == OTHER_RT.id:
            ctx.data.pop("rt", None)
            return Outcome(goto="list")
        rt = choice.removeprefix(RT_PREFIX)
        if choice.startswith(RT_PREFIX) and rt in self._rts(ctx):
            ctx.data["rt"] = rt
            return Outcome(goto="list")
        return Outcome()
