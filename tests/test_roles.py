"""Roles are enforced by the router, from what each flow declares."""
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from bot.i18n import Catalog
from bot.messages import IncomingMessage
from flows.base import Answer, Flow, FlowContext, KampungInfo, Outcome, Prompt, ResidentInfo
from flows.registry import all_flows
from handlers.lexicon import Lexicons
from handlers.router import ConvState, Router

KAMPUNG = KampungInfo("Kampung Home Industri", "Purwoyoso", "05", ("01", "02"), ())


class Door(Flow):
    """An open flow whose only answer leads into the RT heads' flow."""

    id, first_step = "door", "ask"

    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        return Prompt("door.ask", free_text=True)

    def answer(self, step: str, ctx: FlowContext, answer: Answer) -> Outcome:
        return Outcome(switch="rt_tools")


class RtTools(Flow):
    id, first_step, roles = "rt_tools", "list", frozenset({"ketua_rt", "koordinator"})

    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        return Prompt("rt_tools.list")


@dataclass
class Port:
    roles: tuple = ()
    kampung: KampungInfo = KAMPUNG
    store: object = None
    effects: list = field(default_factory=list)

    @property
    def info(self) -> ResidentInfo:
        return ResidentInfo(1, "Bu Sri", "01", "id", (), self.roles, True, False, "+6281234567001", ("whatsapp",))

    def apply(self, effect) -> list:
        self.effects.append(effect)
        return []


@pytest.fixture(scope="module")
def router():
    flows = {**all_flows(), "door": Door(), "rt_tools": RtTools()}
    return Router(flows, Lexicons(Catalog()), timedelta(hours=24))


def knock(router, roles):
    state = ConvState("door", "ask", {}, datetime.now(timezone.utc))
    pieces = router.handle(state, Port(roles), IncomingMessage("whatsapp", "+6281234567001", "buka"),
                           datetime.now(timezone.utc))
    return [p.key for p in pieces], (state.flow, state.step)


def test_warga_is_refused_and_lands_on_the_menu(router):
    keys, where = knock(router, ())
    assert keys[0] == "common.not_allowed"
    assert where == ("help", "menu")


@pytest.mark.parametrize("roles", [(("ketua_rt", "01"),), (("koordinator", None),)])
def test_declared_roles_get_in(router, roles):
    keys, where = knock(router, roles)
    assert "common.not_allowed" not in keys
    assert where == ("rt_tools", "list")


def test_ketua_rw_is_not_in_a_flow_declared_for_others(router):
    assert knock(router, (("ketua_rw", None),))[1] == ("help", "menu")
