"""Which part of the kampung a staff member acts on, from their roles.

koordinator and admin: the whole kampung; ketua_rw: the RW (this installation serves
one RW, so also everything); ketua_rt: their own RT(s); warga: nothing. Handlers decide
who may enter a staff flow; stores use this to show each person only their part.
"""
from __future__ import annotations

from dataclasses import dataclass

from flows.base import ResidentInfo

STAFF_ROLES = frozenset({"ketua_rt", "ketua_rw", "koordinator", "admin"})
KAMPUNG_WIDE = frozenset({"ketua_rw", "koordinator", "admin"})


@dataclass(frozen=True)
class Scope:
    everything: bool
    rts: frozenset[str]

    def covers(self, rt: str | None) -> bool:
        return self.everything or (rt is not None and rt in self.rts)


def scope_of(resident: ResidentInfo) -> Scope:
    names = {role for role, _ in resident.roles}
    return Scope(bool(names & KAMPUNG_WIDE), frozenset(rt for role, rt in resident.roles if role == "ketua_rt" and rt))


def is_staff(resident: ResidentInfo) -> bool:
    return any(role in STAFF_ROLES for role, _ in resident.roles)
