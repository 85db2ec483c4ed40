"""Group commit: small writes that arrive together (sends recorded by the dispatcher,
delivery receipts arriving by the hundred) share one transaction. On SQLite every
write transaction takes the database's one write lock; one per write is what limits
a busy bot, not the work inside them."""
from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from typing import Callable


class GroupCommit:
    """Runs `flush(items)` in `executor` for everything submitted while the previous
    flush ran; each `submit` returns its item's result once its transaction is done.
    Made for one event loop."""

    def __init__(self, flush: Callable[[list], list], executor: Executor | None = None):
        self.flush = flush
        self.executor = executor
        self._queue: list[tuple[object, asyncio.Future]] = []
        self._task: asyncio.Task | None = None

    async def submit(self, item):
        future = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                results = await loop.run_in_executor(self.executor, self.flush, [item for item, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for (_, future), result in zip(batch, results):
                    if not future.done():
                        future.set_result(result)
