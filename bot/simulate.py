"""`kampung simulate`: JSON lines in, JSON lines out, against DATABASE_URL.

Input lines are messages (`{"from": "whatsapp:+62…", "text": …, "media": […],
"location": {"lat": …, "lon": …}}`) or clock moves (`{"clock": ISO8601}`), which run
whatever became due. Output is one line per outgoing message, in order:
`{"to", "text", "choices", "flow", "step"}`. The simulated clock is stored in the
database, so successive runs continue the same conversations in the same time line.
"""
from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import IO

from bot.app import App
from bot.clock import ManualClock
from bot.messages import CHANNELS, IncomingMessage, Location, Media, OutgoingMessage, join_sender, split_sender
from bot.outbox import Dispatcher
from bot.whatsapp_window import NoWindow
from db.models import KeyValue
from scheduler.due import DueTasks

CLOCK_KEY = "simulate.clock"


class SimulationError(ValueError):
    pass


def parse_line(line: str) -> IncomingMessage | datetime:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise SimulationError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SimulationError("each line must be a JSON object")
    if "clock" in data:
        try:
            return datetime.fromisoformat(str(data["clock"]))
        except ValueError as exc:
            raise SimulationError(f"bad clock value: {exc}") from exc
    sender = data.get("from")
    if not isinstance(sender, str) or not sender.strip():
        raise SimulationError('a message needs "from", e.g. "whatsapp:+6281234567001"')
    channel, address = split_sender(sender.strip())
    try:
        media = [Media(str(m["url"]), str(m.get("content_type", ""))) for m in data.get("media") or []]
        loc = data.get("location")
        location = Location(float(loc["lat"]), float(loc["lon"])) if loc else None
    except (KeyError, TypeError, ValueError) as exc:
        raise SimulationError(f"bad media or location: {exc}") from exc
    return IncomingMessage(channel, address, str(data.get("text") or ""), media, location)


def load_clock(app: App) -> ManualClock:
    with app.sessions() as session:
        stored = session.get(KeyValue, CLOCK_KEY)
    start = datetime.fromisoformat(stored.value) if stored else app.clock.now()
    return ManualClock(start)


def save_clock(app: App, clock: ManualClock) -> None:
    with app.sessions.begin() as session:
        session.merge(KeyValue(key=CLOCK_KEY, value=clock.now().isoformat()))


def run(app: App, lines: IO[str], out: IO[str], err: IO[str]) -> int:
    """Drive the bot from `lines`; returns the number of bad input lines."""
    clock = load_clock(app)
    app.core.clock = clock

    async def emit(msg: OutgoingMessage) -> str:
        out.write(json.dumps({
            "to": join_sender(msg.channel, msg.address),
            "text": msg.text,
            "choices": [{"id": c.id, "label": c.label} for c in msg.choices],
            "flow": msg.flow,
            "step": msg.step,
        }, ensure_ascii=False) + "\n")
        out.flush()
        return "simulated"

    dispatcher = Dispatcher(app.sessions, {channel: emit for channel in CHANNELS}, clock, window=NoWindow())
    due = DueTasks.of(app)
    errors = 0

    async def main() -> None:
        nonlocal errors
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                item = parse_line(line)
                if isinstance(item, datetime):
                    clock.set(item)
                    save_clock(app, clock)
                    due.run(clock.now())
                else:
                    app.core.receive(item)
            except (SimulationError, ValueError) as exc:
                errors += 1
                err.write(f"line {number}: {exc}\n")
            await dispatcher.dispatch()

    asyncio.run(main())
    save_clock(app, clock)
    return errors
