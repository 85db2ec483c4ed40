"""`kampung chat`: talk to the bot in the terminal, as a resident would on WhatsApp."""
from __future__ import annotations

import asyncio
from typing import Callable

from bot.app import App
from bot.messages import IncomingMessage, OutgoingMessage
from bot.outbox import Dispatcher

EXIT_WORDS = {"/quit", "/exit", "/keluar"}


def render(out: OutgoingMessage) -> str:
    lines = [f"bot> {line}" for line in out.text.splitlines() or [""]]
    lines += [f"       {n}. {choice.label}" for n, choice in enumerate(out.choices, 1)]
    return "\n".join(lines)


def chat(app: App, address: str, read: Callable[[str], str] = input, write: Callable[[str], None] = print) -> None:
    """Read lines until EOF or /quit; each line is one message from `address`."""

    async def show(out: OutgoingMessage) -> str:
        write(render(out))
        return "console"

    dispatcher = Dispatcher(app.sessions, {"console": show}, app.clock)
    write(app.catalog.text(app.settings.default_language, "console.intro", address=address))
    while True:
        try:
            line = read("anda> ")
        except (EOFError, KeyboardInterrupt):
            write("")
            return
        if line.strip().lower() in EXIT_WORDS:
            return
        app.core.receive(IncomingMessage("console", address, line))
        asyncio.run(dispatcher.dispatch())
