"""The groups feature: paguyuban, their members and linked Telegram group chats.

What the groups flow reads (scoped: an RT head sees only members from their own RT),
the changes it asks for (koordinator and admin only, checked here again), the desk
commands `kampung groups …`, and `group_chats_for` for announcements.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.features import EffectContext, Feature
from bot.phones import normalize_phone
from db.groups import PaguyubanChat
from db.models import Base, Membership, Paguyuban, Resident, Rt
from flows.base import ResidentInfo, Say
from flows.choices import valid_name
from flows.groups import AddMember, CreateGroup, LinkChat, RemoveMember, RenameGroup
from flows.scope import scope_of

MANAGERS = frozenset({"koordinator", "admin"})


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    count: int  # members the reader may see


@dataclass(frozen=True)
class Member:
    id: int
    name: str | None
    phone: str | None
    rt: str | None


class GroupError(ValueError):
    """A refused change, as a catalogue key and its placeholders."""

    def __init__(self, key: str, **params):
        super().__init__(key)
        self.key, self.params = key, params


def can_manage(resident: ResidentInfo) -> bool:
    return any(role in MANAGERS for role, _ in resident.roles)


# -- reads ---------------------------------------------------------------------------
_GROUPS = select(Paguyuban.id, Paguyuban.name).order_by(Paguyuban.name)
_GROUP = select(Paguyuban.id, Paguyuban.name).where(Paguyuban.id == bindparam("gid"))
_GROUP_NAMED = select(Paguyuban.id, Paguyuban.name).where(func.lower(Paguyuban.name) == bindparam("name"))
_COUNTS = (
    select(Membership.paguyuban_id, Rt.number, func.count())
    .join(Resident, Resident.id == Membership.resident_id).outerjoin(Rt, Rt.id == Resident.rt_id)
    .group_by(Membership.paguyuban_id, Rt.number)
)
_MEMBERS = (
    select(Resident.id, Resident.name, Resident.phone, Rt.number.label("rt"))
    .join(Membership, Membership.resident_id == Resident.id).outerjoin(Rt, Rt.id == Resident.rt_id)
    .where(Membership.paguyuban_id == bindparam("gid")).order_by(Resident.name, Resident.id)
)
_BY_PHONE = (select(Resident.id, Resident.name, Resident.phone, Rt.number.label("rt"))
             .outerjoin(Rt, Rt.id == Resident.rt_id).where(Resident.phone == bindparam("phone")))


def _key(name: str) -> str:
    return " ".join(name.split()).lower()


def find_group(conn: Connection, name: str) -> Group | None:
    row = conn.execute(_GROUP_NAMED, {"name": _key(name)}).first()
    return Group(row.id, row.name, 0) if row else None


def members_of(conn: Connection, group_id: int) -> list[Member]:
    return [Member(r.id, r.name, r.phone, r.rt) for r in conn.execute(_MEMBERS, {"gid": group_id})]


def resident_by_phone(conn: Connection, text: str) -> Member | None:
    """The resident with this number in any Indonesian form; ValueError if it is no number."""
    row = conn.execute(_BY_PHONE, {"phone": normalize_phone(text)}).first()
    return Member(row.id, row.name, row.phone, row.rt) if row else None


class GroupsView:
    """`ctx.store.groups`: read-only, one staff member, one turn, within their scope."""

    def __init__(self, conn: Connection, resident: ResidentInfo, now: datetime, _settings):
        self.conn, self.scope = conn, scope_of(resident)
        self.can_manage = can_manage(resident)

    def groups(self) -> list[Group]:
        counts: dict[int, int] = {}
        for gid, rt, count in self.conn.execute(_COUNTS):
            if self.scope.covers(rt):
                counts[gid] = counts.get(gid, 0) + count
        return [Group(r.id, r.name, counts.get(r.id, 0)) for r in self.conn.execute(_GROUPS)]

    def group(self, group_id: int) -> Group | None:
        row = self.conn.execute(_GROUP, {"gid": group_id}).first()
        return Group(row.id, row.name, 0) if row else None

    def group_named(self, name: str) -> Group | None:
        return find_group(self.conn, name)

    def members(self, group_id: int) -> list[Member]:
        return [m for m in members_of(self.conn, group_id) if self.scope.covers(m.rt)]

    def resident_by_phone(self, text: str) -> Member | None:
        person = resident_by_phone(self.conn, text)
        return person if person and self.scope.covers(person.rt) else None


# -- changes (shared by the flow's effects and the desk) ----------------------------------
def create_group(conn: Connection, name: str) -> str:
    clean = valid_name(name)
    if clean is None:
        raise GroupError("groups.cli.bad_name", name=name)
    if (existing := find_group(conn, clean)) is not None:
        raise GroupError("groups.name_taken", name=existing.name)
    conn.execute(insert(Paguyuban).values(name=clean))
    return clean


def rename_group(conn: Connection, group_id: int, name: str) -> str:
    clean = valid_name(name)
    if clean is None:
        raise GroupError("groups.cli.bad_name", name=name)
    existing = find_group(conn, clean)
    if existing is not None and existing.id != group_id:
        raise GroupError("groups.name_taken", name=existing.name)
    old = _group_name(conn, group_id)
    conn.execute(update(Paguyuban).where(Paguyuban.id == group_id).values(name=clean))
    _carry_audiences(conn, old, clean)
    return clean


def _carry_audiences(conn: Connection, old: str, new: str) -> None:
    """Events, surveys and broadcasts name their paguyuban in `audience`
    ("paguyuban:UMKM RW 05"); a rename carries over to every such column."""
    for table in Base.metadata.sorted_tables:
        if "audience" in table.c:
            conn.execute(update(table).where(table.c.audience == f"paguyuban:{old}")
                         .values(audience=f"paguyuban:{new}"))


def add_member(conn: Connection, group_id: int, resident_id: int) -> bool:
    """False when they were already a member."""
    try:
        with conn.begin_nested():
            conn.execute(insert(Membership).values(resident_id=resident_id, paguyuban_id=group_id))
    except IntegrityError:
        return False
    return True


def remove_member(conn: Connection, group_id: int, resident_id: int) -> bool:
    """False when they were not a member."""
    return bool(conn.execute(delete(Membership).where(Membership.paguyuban_id == group_id,
                                                      Membership.resident_id == resident_id)).rowcount)


def link_chat(conn: Connection, group_id: int, chat_id: str, now: datetime, channel: str = "telegram") -> None:
    """Link a group chat to a paguyuban; a chat linked elsewhere moves here."""
    conn.execute(delete(PaguyubanChat).where(PaguyubanChat.chat_id == chat_id))
    conn.execute(insert(PaguyubanChat).values(paguyuban_id=group_id, channel=channel, chat_id=chat_id, linked_at=now))


def group_chats_for(conn: Connection, paguyuban_name: str) -> list[str]:
    """The chat ids of the group chats linked to this paguyuban (for announcements)."""
    return list(conn.scalars(
        select(PaguyubanChat.chat_id).join(Paguyuban, Paguyuban.id == PaguyubanChat.paguyuban_id)
        .where(func.lower(Paguyuban.name) == _key(paguyuban_name)).order_by(PaguyubanChat.id)))


# -- effect handlers ------------------------------------------------------------------------
def _guarded(handler):
    """Changes are for the koordinator and admin only, whatever a flow asks for."""

    def run(ectx: EffectContext, effect) -> list[Say]:
        if not can_manage(ectx.resident):
            return [Say("common.not_allowed")]
        try:
            return handler(ectx, effect)
        except GroupError as exc:
            return [Say(exc.key, exc.params)]

    return run


def _member_params(conn: Connection, resident_id: int) -> dict:
    row = conn.execute(select(Resident.name, Resident.phone).where(Resident.id == resident_id)).first()
    return {"member": (row.name or row.phone or "-") if row else "-"}


def _group_name(conn: Connection, group_id: int) -> str:
    return conn.scalar(select(Paguyuban.name).where(Paguyuban.id == group_id)) or "-"


def _on_create(ectx: EffectContext, effect: CreateGroup) -> list[Say]:
    return [Say("groups.created", {"name": create_group(ectx.conn, effect.name)})]


def _on_link(ectx: EffectContext, effect: LinkChat) -> list[Say]:
    link_chat(ectx.conn, effect.group_id, effect.chat, ectx.now)
    return [Say("groups.linked", {"name": _group_name(ectx.conn, effect.group_id)})]


def _on_rename(ectx: EffectContext, effect: RenameGroup) -> list[Say]:
    old = _group_name(ectx.conn, effect.group_id)
    return [Say("groups.renamed", {"old": old, "name": rename_group(ectx.conn, effect.group_id, effect.name)})]


def _on_add(ectx: EffectContext, effect: AddMember) -> list[Say]:
    params = {**_member_params(ectx.conn, effect.resident_id), "group": _group_name(ectx.conn, effect.group_id)}
    added = add_member(ectx.conn, effect.group_id, effect.resident_id)
    return [Say("groups.added" if added else "groups.already_added", params)]


def _on_remove(ectx: EffectContext, effect: RemoveMember) -> list[Say]:
    params = {**_member_params(ectx.conn, effect.resident_id), "group": _group_name(ectx.conn, effect.group_id)}
    removed = remove_member(ectx.conn, effect.group_id, effect.resident_id)
    return [Say("groups.removed" if removed else "groups.already_removed", params)]


# -- desk commands ------------------------------------------------------------------------------
def _cli(subparsers, make_app) -> None:
    parser = subparsers.add_parser("groups", help="paguyuban, their members and linked Telegram groups")
    parser.set_defaults(func=lambda args: _run(make_app(args), args))
    groups = parser.add_subparsers(dest="action", required=True)
    groups.add_parser("list", help="every paguyuban with its number of members")
    groups.add_parser("create", help="a new paguyuban").add_argument("name")
    p = groups.add_parser("rename", help="rename a paguyuban")
    p.add_argument("old")
    p.add_argument("new")
    for action, what in (("add", "add a resident (by phone) to"), ("remove", "remove a resident (by phone) from")):
        p = groups.add_parser(action, help=f"{what} a paguyuban")
        p.add_argument("name")
        p.add_argument("phone")
    groups.add_parser("members", help="the members of a paguyuban").add_argument("name")
    p = groups.add_parser("link", help="post the paguyuban's announcements in a Telegram group chat")
    p.add_argument("name")
    p.add_argument("chat_id", help="the group's chat id, e.g. -1001234567890")


def _run(app, args) -> int:
    lang = app.settings.default_language

    def say(key: str, **params) -> None:
        print(app.catalog.text(lang, key, **params))

    try:
        with app.engine.begin() as conn:
            _DESK[args.action](conn, args, say, app.clock.now())
    except GroupError as exc:
        say(exc.key, **exc.params)
        return 2
    return 0


def _named(conn: Connection, name: str) -> Group:
    group = find_group(conn, name)
    if group is None:
        known = ", ".join(conn.scalars(select(Paguyuban.name).order_by(Paguyuban.name))) or "-"
        raise GroupError("groups.cli.unknown_group", name=name, known=known)
    return group


def _person(conn: Connection, phone: str) -> Member:
    try:
        person = resident_by_phone(conn, phone)
    except ValueError:
        raise GroupError("groups.phone_invalid", text=phone) from None
    if person is None:
        raise GroupError("groups.cli.unknown_phone", text=phone)
    return person


def _desk_list(conn, args, say, now) -> None:
    counts = dict(conn.execute(select(Membership.paguyuban_id, func.count()).group_by(Membership.paguyuban_id)).all())
    chats = dict(conn.execute(select(PaguyubanChat.paguyuban_id, func.count())
                              .group_by(PaguyubanChat.paguyuban_id)).all())
    rows = conn.execute(_GROUPS).all()
    for row in rows:
        say("groups.cli.line", name=row.name, count=counts.get(row.id, 0), chats=chats.get(row.id, 0))
    if not rows:
        say("groups.cli.none")


def _desk_create(conn, args, say, now) -> None:
    say("groups.created", name=create_group(conn, args.name))


def _desk_rename(conn, args, say, now) -> None:
    group = _named(conn, args.old)
    say("groups.renamed", old=group.name, name=rename_group(conn, group.id, args.new))


def _desk_add(conn, args, say, now) -> None:
    group, person = _named(conn, args.name), _person(conn, args.phone)
    added = add_member(conn, group.id, person.id)
    say("groups.added" if added else "groups.already_added", member=person.name or person.phone, group=group.name)


def _desk_remove(conn, args, say, now) -> None:
    group, person = _named(conn, args.name), _person(conn, args.phone)
    removed = remove_member(conn, group.id, person.id)
    say("groups.removed" if removed else "groups.already_removed", member=person.name or person.phone,
        group=group.name)


def _desk_members(conn, args, say, now) -> None:
    group = _named(conn, args.name)
    members = members_of(conn, group.id)
    say("groups.cli.members", name=group.name, count=len(members))
    for m in members:
        say("groups.cli.member_line", name=m.name or "-", phone=m.phone or "-", rt=m.rt or "-")


def _desk_link(conn, args, say, now) -> None:
    group, chat_id = _named(conn, args.name), args.chat_id.strip()
    if not chat_id.lstrip("-").isdigit():
        raise GroupError("groups.cli.bad_chat", chat_id=chat_id)
    link_chat(conn, group.id, chat_id, now)
    say("groups.cli.linked", name=group.name, chat_id=chat_id)


_DESK = {"list": _desk_list, "create": _desk_create, "rename": _desk_rename, "add": _desk_add,
         "remove": _desk_remove, "members": _desk_members, "link": _desk_link}

FEATURE = Feature(
    name="groups",
    reads=GroupsView,
    effects={CreateGroup: _guarded(_on_create), RenameGroup: _guarded(_on_rename), AddMember: _guarded(_on_add),
             RemoveMember: _guarded(_on_remove), LinkChat: _guarded(_on_link)},
    cli=_cli,
    reshapes_kampung=frozenset({CreateGroup, RenameGroup}),
)
