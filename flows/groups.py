"""Managing paguyuban in chat ("kelola paguyuban"): the koordinator and admin create,
rename and fill them; ketua RW and RT heads may look (an RT head sees only the
members from their own RT). Who may change what is decided by the store
(`ctx.store.groups.can_manage`), which also limits what each person sees.

Every change is saved as soon as it is made, so `batal` only drops the question at hand.

    list --paguyuban--> group --tambah--> add (phone number) --> group
      |                   |--keluarkan--> remove (choice or phone) --> group
      |                   |--ganti nama--> rename --> group
      |                   +--daftar--> list
      +--buat baru--> create (name) --> group
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flows.base import Answer, Flow, FlowContext, Option, Outcome, Prompt, Say
from flows.choices import valid_name
from flows.scope import STAFF_ROLES

GROUP_PREFIX = "grp_g"
MEMBER_PREFIX = "grp_m"
CREATE = Option("grp_create", "groups.choice.create")
ADD = Option("grp_add", "groups.choice.add")
REMOVE = Option("grp_remove", "groups.choice.remove")
RENAME = Option("grp_rename", "groups.choice.rename")
LIST = Option("grp_list", "groups.choice.list")
MENU = Option("menu", "choice.menu")


@dataclass(frozen=True)
class CreateGroup:
    """Effect: a new paguyuban."""

    name: str


@dataclass(frozen=True)
class RenameGroup:
    group_id: int
    name: str


@dataclass(frozen=True)
class AddMember:
    group_id: int
    resident_id: int


@dataclass(frozen=True)
class LinkChat:
    """Effect: announcements to this paguyuban are posted in this group chat."""

    group_id: int
    chat: str


@dataclass(frozen=True)
class RemoveMember:
    group_id: int
    resident_id: int


def _chain(key: str, items: list[dict[str, Any]]) -> Say | str:
    """A list as one message: each item's text ends with {more}, the next item."""
    said: Say | str = ""
    for item in reversed(items):
        said = Say(key, {**item, "more": said})
    return said


def _member_item(member) -> dict[str, Any]:
    return {"name": member.name or member.phone or "-", "rt": member.rt or "-"}


class GroupsFlow(Flow):
    id = "groups"
    first_step = "list"
    roles = STAFF_ROLES
    commands = frozenset({"groups", "link_group"})
    cancel_key = "groups.cancelled"

    def command(self, word: str, ctx: FlowContext, argument: str = "") -> Outcome:
        if word != "link_group":
            return Outcome(goto="list")
        # "/hubungkan [NAMA PAGUYUBAN]", sent in the Telegram group to be linked.
        if ctx.chat is None:
            return Outcome([Say("groups.link_in_group_only")], switch="help")
        group_id = ctx.pick(argument, self._group_options(ctx)) if argument else None
        if group_id:
            return self._link(ctx, group_id)
        return Outcome(goto="link")

    @staticmethod
    def _group_options(ctx: FlowContext) -> tuple[Option, ...]:
        return tuple(Option(f"{GROUP_PREFIX}{g.id}", label=g.name) for g in ctx.store.groups.groups())

    @staticmethod
    def _link(ctx: FlowContext, choice: str) -> Outcome:
        return Outcome(effects=[LinkChat(int(choice.removeprefix(GROUP_PREFIX)), ctx.chat)], end=True)

    # -- prompts -----------------------------------------------------------------
    def prompt(self, step: str, ctx: FlowContext) -> Prompt:
        view = ctx.store.groups
        if step == "list":
            options = tuple(Option(f"{GROUP_PREFIX}{g.id}", "groups.choice.group", params={"name": g.name, "count": g.count},
                                   aliases=(g.name,)) for g in view.groups())
            extra = (CREATE,) if view.can_manage else ()
            return Prompt("groups.list" if options else "groups.list_empty", options=options + extra + (MENU,))
        if step == "create":
            return Prompt("groups.ask_create", free_text=True)
        if step == "link":
            return Prompt("groups.ask_link", options=self._group_options(ctx))
        group = self._group(ctx)
        if group is None:
            return Prompt("groups.gone", options=(LIST, MENU))
        if step == "group":
            members = view.members(group.id)
            items = _chain("groups.member_item", [_member_item(m) for m in members]) or Say("groups.no_members")
            options: tuple[Option, ...] = ()
            if view.can_manage:
                options = (ADD, REMOVE, RENAME) if members else (ADD, RENAME)
            return Prompt("groups.detail", {"name": group.name, "count": len(members), "members": items},
                          options=options + (LIST, MENU))
        if step == "add":
            return Prompt("groups.ask_phone", {"name": group.name}, free_text=True)
        if step == "remove":
            options = tuple(Option(f"{MEMBER_PREFIX}{m.id}", "groups.choice.member", params=_member_item(m),
                                   aliases=tuple(filter(None, (m.name,)))) for m in view.members(group.id))
            return Prompt("groups.ask_remove", {"name": group.name}, options=options, free_text=True)
        if step == "rename":
            return Prompt("groups.ask_rename", {"name": group.name}, free_text=True)
        raise KeyError(step)

    @staticmethod
    def _group(ctx: FlowContext):
        """The paguyuban being worked on: by id once chosen, by name just after creating it."""
        view = ctx.store.groups
        if "group_id" in ctx.data:
            return view.group(ctx.data["group_id"])
        return view.group_named(ctx.data.get("group_name", ""))

    # -- answers -----------------------------------------------------------------
    def answer(self, step: str, ctx: FlowContext, answer: Answer) -> Outcome:
        choice = answer.choice_id
        if choice == MENU.id:
            return Outcome(switch="help")
        if choice == LIST.id:
            return Outcome(goto="list")
        if step == "list":
            if choice == CREATE.id:
                return Outcome(goto="create")
            ctx.data.pop("group_name", None)
            ctx.data["group_id"] = int(choice.removeprefix(GROUP_PREFIX))
            return Outcome(goto="group")
        if step == "create":
            return self._create(ctx, answer.text)
        if step == "link":
            return self._link(ctx, choice)
        group = self._group(ctx)
        if group is None:
            return Outcome(goto="list")
        ctx.data.pop("group_name", None)
        ctx.data["group_id"] = group.id  # from here on by id: a rename must not lose it
        if step == "group":
            return Outcome(goto={ADD.id: "add", REMOVE.id: "remove", RENAME.id: "rename"}[choice])
        if step == "add":
            return self._add(ctx, group, answer.text)
        if step == "remove":
            return self._remove(ctx, group, answer)
        if step == "rename":
            name = valid_name(answer.text)
            if name is None:
                return Outcome([Say("groups.name_invalid")])
            other = ctx.store.groups.group_named(name)
            if other is not None and other.id != group.id:
                return Outcome([Say("groups.name_taken", {"name": other.name})])
            return Outcome(goto="group", effects=[RenameGroup(group.id, name)])
        raise KeyError(step)

    @staticmethod
    def _create(ctx: FlowContext, text: str) -> Outcome:
        name = valid_name(text)
        if name is None:
            return Outcome([Say("groups.name_invalid")])
        if (existing := ctx.store.groups.group_named(name)) is not None:
            return Outcome([Say("groups.name_taken", {"name": existing.name})])
        ctx.data.pop("group_id", None)
        ctx.data["group_name"] = name
        return Outcome(goto="group", effects=[CreateGroup(name)])

    @staticmethod
    def _add(ctx: FlowContext, group, text: str) -> Outcome:
        try:
            person = ctx.store.groups.resident_by_phone(text)
        except ValueError:
            return Outcome([Say("groups.phone_invalid", {"text": text[:40]})])
        if person is None:
            return Outcome([Say("groups.phone_unknown", {"text": text[:40]})])
        if any(m.id == person.id for m in ctx.store.groups.members(group.id)):
            return Outcome([Say("groups.already_member", {**_member_item(person), "group": group.name})],
                           goto="group")
        return Outcome(goto="group", effects=[AddMember(group.id, person.id)])

    @staticmethod
    def _remove(ctx: FlowContext, group, answer: Answer) -> Outcome:
        view = ctx.store.groups
        members = {m.id: m for m in view.members(group.id)}
        if answer.choice_id:
            resident_id = int(answer.choice_id.removeprefix(MEMBER_PREFIX))
        else:
            try:
                person = view.resident_by_phone(answer.text)
            except ValueError:
                return Outcome([Say("groups.remove_unclear")])
            if person is None or person.id not in members:
                return Outcome([Say("groups.not_member", {"text": answer.text[:40], "group": group.name})])
            resident_id = person.id
        return Outcome(goto="group", effects=[RemoveMember(group.id, resident_id)])
