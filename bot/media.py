"""Photos residents and staff send (with a report, with an announcement): downloaded
after the message's transaction and stored as DATA_DIR/reports/<ticket>-<n>.<ext> or
DATA_DIR/broadcasts/pengumuman-<id>.<ext>, with the path in the database.

A flow does no I/O, so a report keeps the reference its channel gave (a Twilio media
URL, "telegram-file:<id>"); the worker fetches pending photos after each pass, through
the channel that owns the reference (Twilio needs the account's credentials, Telegram
a getFile call), or with plain httpx for any other http(s) URL. A photo is claimed with
a lease, so two workers never fetch the same one; a failure is retried with back-off
and given up after MAX_ATTEMPTS. A reference nothing here can fetch (a Telegram file
without a Telegram channel, in the console or `kampung simulate`) stays pending.
"""
from __future__ import annotations

import asyncio
import logging
import mimetypes
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from bot.reports import ticket
from db.broadcasts import BroadcastPhoto
from db.reports import ReportPhoto

log = logging.getLogger(__name__)

Download = Callable[[str], Awaitable[bytes]]
MAX_ATTEMPTS = 6
MAX_BYTES = 16 * 1024 * 1024
TIMEOUT_SECONDS = 30.0
LEASE = timedelta(minutes=5)
# How long a reference nothing can fetch waits before it is looked at again.
PARKED = timedelta(hours=1)
EXTENSIONS = {"image/jpeg": "jpg", "image/jpg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif",
              "image/heic": "heic"}


async def http_download(url: str) -> bytes:
    """Any other http(s) URL, without credentials."""
    async with httpx.AsyncClient(follow_redirects=True, timeout=TIMEOUT_SECONDS) as client:
        response = await client.get(url)
        response.raise_for_status()
        return response.content


def extension(content_type: str) -> str:
    content_type = content_type.split(";")[0].strip().lower()
    guessed = mimetypes.guess_extension(content_type) if content_type else None
    return EXTENSIONS.get(content_type) or (guessed or ".bin").lstrip(".")


@dataclass(frozen=True)
class PhotoSource:
    """A table of photos to fetch (the columns of report_photos) and how its files are
    named under DATA_DIR/<folder>."""

    table: Any
    folder: str
    stem: Callable[[Any], str]  # row -> file name without the extension


REPORT_PHOTOS = PhotoSource(ReportPhoto, "reports", lambda row: f"{ticket(row.report_id)}-{row.n}")
BROADCAST_PHOTOS = PhotoSource(BroadcastPhoto, "broadcasts", lambda row: f"pengumuman-{row.broadcast_id}")


@dataclass(frozen=True)
class _Claimed:
    source: PhotoSource
    id: int
    stem: str
    url: str
    content_type: str
    attempts: int


class PhotoFetcher:
    """`downloaders` maps a reference prefix to the channel download that owns it."""

    def __init__(self, engine: Engine, data_dir: Path, clock, downloaders: dict[str, Download] | None = None,
                 sources: tuple[PhotoSource, ...] = (REPORT_PHOTOS, BROADCAST_PHOTOS)):
        self.engine = engine
        self.data_dir = Path(data_dir)
        self.clock = clock
        self.downloaders = dict(downloaders or {})
        self.sources = sources

    def downloader(self, ref: str) -> Download | None:
        owners = [prefix for prefix in self.downloaders if ref.startswith(prefix)]
        if owners:
            return self.downloaders[max(owners, key=len)]
        return http_download if ref.startswith(("http://", "https://")) else None

    async def fetch_pending(self, limit: int = 5) -> int:
        """Fetch photos that are due; returns how many were saved."""
        saved = 0
        for photo in await asyncio.to_thread(self._claim, limit):
            saved += await self._fetch(photo)
        return saved

    def _claim(self, limit: int) -> list[_Claimed]:
        now = self.clock.now()
        claimed: list[_Claimed] = []
        with self.engine.begin() as conn:
            for source in self.sources:
                table = source.table
                due = (select(table).where(table.status == "pending", table.not_before <= now)
                       .order_by(table.not_before, table.id).limit(limit - len(claimed)))
                for row in conn.execute(due).all() if len(claimed) < limit else ():
                    fetchable = self.downloader(row.url) is not None
                    values = {"not_before": now + (LEASE if fetchable else PARKED)}
                    if fetchable:
                        values["attempts"] = row.attempts + 1
                    took = conn.execute(update(table).where(
                        table.id == row.id, table.status == "pending", table.not_before <= now,
                    ).values(**values)).rowcount
                    if took and fetchable:
                        claimed.append(_Claimed(source, row.id, source.stem(row), row.url, row.content_type,
                                                row.attempts + 1))
        return claimed

    async def _fetch(self, photo: _Claimed) -> int:
        try:
            data = await asyncio.wait_for(self.downloader(photo.url)(photo.url), TIMEOUT_SECONDS)
            if len(data) > MAX_BYTES:
                raise ValueError(f"photo of {len(data)} bytes is over the {MAX_BYTES}-byte limit")
            if not data:
                raise ValueError("empty photo")
            path = await asyncio.to_thread(self._store, photo, data)
        except Exception as exc:  # any failure of any channel: retried later, never fatal to the worker
            await asyncio.to_thread(self._failed, photo, f"{type(exc).__name__}: {exc}"[:500])
            return 0
        await asyncio.to_thread(self._mark, photo, {"status": "saved", "path": str(path), "error": None})
        log.info("photo %s saved as %s", photo.stem, path)
        return 1

    def _store(self, photo: _Claimed, data: bytes) -> Path:
        folder = self.data_dir / photo.source.folder
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{photo.stem}.{extension(photo.content_type)}"
        partial = path.with_name(path.name + ".part")
        partial.write_bytes(data)
        os.replace(partial, path)
        return path

    def _failed(self, photo: _Claimed, error: str) -> None:
        if photo.attempts >= MAX_ATTEMPTS:
            log.warning("photo %s given up after %d attempts: %s", photo.stem, photo.attempts, error)
            self._mark(photo, {"status": "failed", "error": error})
            return
        retry = self.clock.now() + timedelta(minutes=2 ** photo.attempts)
        log.info("photo %s not fetched (%s); retry at %s", photo.stem, error, retry)
        self._mark(photo, {"not_before": retry, "error": error})

    def _mark(self, photo: _Claimed, values: dict) -> None:
        table = photo.source.table
        with self.engine.begin() as conn:
            conn.execute(update(table).where(table.id == photo.id).values(**values))
