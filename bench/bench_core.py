"""Benchmark: many residents' messages through the core on SQLite.

Each resident onboards and then uses the menu; every message is a full transaction
(identity, conversation state, outbox). Prints messages/s and p50/p99 latency.

    python bench/bench_core.py [--residents 400] [--db /tmp/kampung-bench.db]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build_app  # noqa: E402
from bot.messages import IncomingMessage  # noqa: E402
from bot.settings import load_settings  # noqa: E402

SCRIPT = [
    "halo", "setuju", "Bu Sri", "rt 4", "1, 3", "1",
    "jalan depan rumah rusak parah", "menu", "data saya", "ubah data", "nama", "Sri Rahayu",
    "kapan rapat RW?", "batal", "bantuan", "bahasa", "indonesia", "ada survei baru?", "menu", "STOP", "MULAI",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=400)
    parser.add_argument("--db", default=os.path.join(tempfile.mkdtemp(), "bench.db"))
    args = parser.parse_args()

    app = build_app(load_settings(env_file=None, environ={"DATABASE_URL": f"sqlite:///{args.db}"}))
    latencies: list[float] = []
    replies = 0
    started = time.perf_counter()
    # Interleave residents, as real traffic does: round r sends line r of every resident.
    for line in SCRIPT:
        for n in range(args.residents):
            msg = IncomingMessage("whatsapp", f"+62812{n:08d}", line)
            t0 = time.perf_counter()
            replies += len(app.core.receive(msg))
            latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started

    latencies.sort()
    count = len(latencies)
    print(f"messages: {count} from {args.residents} residents, {replies} replies written to the outbox")
    print(f"throughput: {count / elapsed:,.0f} messages/s (one process, SQLite WAL)")
    print(f"latency p50: {statistics.median(latencies) * 1000:.2f} ms, "
          f"p99: {latencies[int(count * 0.99) - 1] * 1000:.2f} ms")


if __name__ == "__main__":
    main()
