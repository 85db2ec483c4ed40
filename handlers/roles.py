"""Roles and who may enter which flow. Checked here, in handlers, never inside flows:
a flow only declares the roles it needs (`Flow.roles`).

warga is everyone; ketua_rt acts within one RT, ketua_rw within the RW,
koordinator and admin across the kampung.
"""
from __future__ import annotations

from flows.base import Flow

ROLES = ("warga", "ketua_rt", "ketua_rw", "koordinator", "admin")
SCOPED_ROLES = ("ketua_rt",)


def may_enter(flow: Flow, roles: tuple[tuple[str, str | None], ...]) -> bool:
    """Open flows (no roles declared) admit everyone; others need one of their roles."""
    return not flow.roles or any(role in flow.roles for role, _ in roles)
