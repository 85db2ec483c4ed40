"""Roles and what they may enter. Checked here, in handlers, never inside flows.

warga is everyone; ketua_rt acts within one RT, ketua_rw within the RW,
koordinator and admin across the kampung.
"""
from __future__ import annotations

ROLES = ("warga", "ketua_rt", "ketua_rw", "koordinator", "admin")
SCOPED_ROLES = ("ketua_rt",)

# Flows that need a role beyond warga; flows not listed are open to every resident.
FLOW_ROLES: dict[str, frozenset[str]] = {}


def may_enter(flow_id: str, roles: tuple[tuple[str, str | None], ...]) -> bool:
    required = FLOW_ROLES.get(flow_id)
    return required is None or any(role in required for role, _ in roles)


def rts_in_scope(roles: tuple[tuple[str, str | None], ...], all_rts: tuple[str, ...]) -> tuple[str, ...]:
    """The RTs a resident may act on: all of them for ketua_rw/koordinator/admin,
    their own for ketua_rt, none for warga."""
    names = {role for role, _ in roles}
    if names & {"ketua_rw", "koordinator", "admin"}:
        return all_rts
    return tuple(rt for role, rt in roles if role == "ketua_rt" and rt)
