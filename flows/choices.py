"""Option lists and answer checks that several flows share."""
from __future__ import annotations

import re

from bot.messages import SHARE_PHONE
from flows.base import KampungInfo, Option

LANGUAGES = ("id", "en", "jv")
_LETTER = re.compile(r"[^\W\d_]")


def letters(text: str) -> int:
    """How many letters (any script) a text has: what tells words from digits and emoji."""
    return len(_LETTER.findall(text))


def rt_options(kampung: KampungInfo) -> tuple[Option, ...]:
    """One option per RT; '4', '04', 'rt 4' all name RT 04."""
    return tuple(
        Option(rt, "choice.rt", params={"rt": rt}, aliases=(rt, str(int(rt)), f"rt {rt}", f"rt {int(rt)}", f"rt{int(rt)}"))
        if rt.isdigit()
        else Option(rt, "choice.rt", params={"rt": rt}, aliases=(rt.lower(),))
        for rt in kampung.rts
    )


def rt_picks(rts, prefix: str, key: str) -> tuple[Option, ...]:
    """One option per RT for a staff tool, ids `prefix + rt`; "4", "04" and "rt 4" all
    name RT 04."""
    return tuple(Option(f"{prefix}{rt}", key, params={"rt": rt}, aliases=(f"rt {rt}", rt, f"rt {rt.lstrip('0')}"))
                 for rt in rts)


def paguyuban_options(kampung: KampungInfo) -> tuple[Option, ...]:
    return tuple(Option(name, label=name) for name in kampung.paguyuban) + (Option("none", "choice.none"),)


def language_options() -> tuple[Option, ...]:
    return tuple(Option(code, f"language.{code}") for code in LANGUAGES)


def valid_name(text: str) -> str | None:
    """A person's name: 2-60 characters with at least two letters."""
    name = " ".join(text.split())
    if 2 <= len(name) <= 60 and letters(name) >= 2:
        return name
    return None


SHARE = Option(SHARE_PHONE, "choice.share_phone")


def share_phone(resident) -> tuple[Option, ...]:
    """The share-my-number button, where the channel has no phone number (Telegram) and
    the resident has none yet (bot.residents.link_phone joins the accounts)."""
    return (SHARE,) if "telegram" in resident.channels and not resident.phone else ()
