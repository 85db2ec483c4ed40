"""`kampung roles grant`: give a resident a role beyond warga.

Everyone is warga, so "granting" warga takes every extra role away. ketua_rt acts
within one RT and needs --rt; the other roles act across the kampung and refuse it.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.phones import normalize_phone
from bot.rt_numbers import normalize_rt
from db.models import Resident, RoleGrant, Rt
from handlers.roles import ROLES, SCOPED_ROLES


class RoleError(ValueError):
    """A grant that cannot be made; the message is shown to the administrator."""


def grant_role(session: Session, phone: str, role: str, rt: str | None) -> str:
    """Grant `role` to the resident with `phone` (idempotent). Returns their display name."""
    try:
        e164 = normalize_phone(phone)
    except ValueError as exc:
        raise RoleError(str(exc)) from None
    role = (role or "").strip().lower()
    if role not in ROLES:
        raise RoleError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    rt = (rt or "").strip() or None
    rt_row = None
    if role in SCOPED_ROLES:
        if rt is None:
            raise RoleError(f"{role} needs --rt naming the RT they lead")
        rt_row = session.scalars(select(Rt).where(Rt.number == (normalize_rt(rt) or rt))).first()
        if rt_row is None:
            known = ", ".join(session.scalars(select(Rt.number).order_by(Rt.number)))
            raise RoleError(f"RT {rt!r} does not exist; the kampung has RT {known}")
    elif rt is not None:
        raise RoleError(f"{role} is not tied to one RT; leave out --rt")

    resident = session.scalars(
        select(Resident).where(Resident.phone == e164).options(selectinload(Resident.roles))
    ).first()
    if resident is None:
        raise RoleError(
            f"no resident with phone {e164}; import them (kampung residents import) or let them chat with the bot first"
        )

    if role == "warga":
        resident.roles.clear()
    elif not any(g.role == role and g.rt_id == (rt_row.id if rt_row else None) for g in resident.roles):
        resident.roles.append(RoleGrant(role=role, rt_id=rt_row.id if rt_row else None))
    session.flush()
    return resident.name or resident.phone
