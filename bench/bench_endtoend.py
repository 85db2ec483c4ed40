"""Benchmark: the path residents see, webhook in -> reply out.

Starts one `kampung serve` (SQLite) whose Twilio REST calls go to a local fake that
answers after 100 ms, then posts signed Twilio webhooks to it: each from a new
resident, so every message gets a welcome reply. A message's latency runs from the
moment its webhook is posted to the moment its reply reaches the fake. In the same
run a bare Starlette endpoint on uvicorn takes the same load: the ceiling for intake.

    python bench/bench_endtoend.py [--messages 2000] [--concurrency 64]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_SID = "AC" + "be" * 16
AUTH_TOKEN = "bench-auth-token"
WA_FROM = "+14155238886"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ReplySink:
    """A Twilio Messages endpoint that answers after `delay` seconds and notes when the
    first reply to each address arrived."""

    def __init__(self, delay: float):
        self.delay = delay
        self.first_reply: dict[str, float] = {}
        self.count = 0
        self.lock = threading.Lock()
        path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        self.app = Starlette(routes=[Route(path, self.create, methods=["POST"])])

    async def create(self, request: Request) -> JSONResponse:
        form = dict(parse_qsl((await request.body()).decode()))
        await asyncio.sleep(self.delay)
        to = form.get("To", "").removeprefix("whatsapp:")
        with self.lock:
            self.count += 1
            self.first_reply.setdefault(to, time.perf_counter())
            n = self.count
        return JSONResponse({"sid": f"SM{n:032x}", "status": "queued", "to": form.get("To"),
                             "from": form.get("From"), "body": form.get("Body"), "account_sid": ACCOUNT_SID,
                             "error_code": None, "error_message": None, "num_segments": "1"}, status_code=201)


def serve_in_thread(app, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    server.install_signal_handlers = lambda: None
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server


BARE_APP = """
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

async def webhook(request):
    await request.body()
    return Response('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', media_type="text/xml")

app = Starlette(routes=[Route("/webhooks/twilio", webhook, methods=["POST"])])
"""


def wait_until_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server at {url} did not start")


def forms(count: int, offset: int) -> list[dict[str, str]]:
    return [{"MessageSid": f"SM{offset + n:032x}", "From": f"whatsapp:+62812{offset + n:08d}",
             "To": f"whatsapp:{WA_FROM}", "Body": "halo", "NumMedia": "0", "AccountSid": ACCOUNT_SID}
            for n in range(count)]


async def post_all(base: str, public: str, items: list[dict[str, str]], concurrency: int) -> tuple[float, dict]:
    """Post every webhook, `concurrency` at a time; returns the elapsed time and when
    each sender's webhook was posted."""
    validator = RequestValidator(AUTH_TOKEN)
    url = public + "/webhooks/twilio"
    posted: dict[str, float] = {}
    queue = list(reversed(items))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60.0) as client:
        async def worker() -> None:
            while queue:
                form = queue.pop()
                headers = {"X-Twilio-Signature": validator.compute_signature(url, form)}
                posted[form["From"].removeprefix("whatsapp:")] = time.perf_counter()
                response = await client.post("/webhooks/twilio", data=form, headers=headers)
                if response.status_code != 200:
                    raise SystemExit(f"webhook answered {response.status_code}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, posted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--delay", type=float, default=0.1, help="the fake's answer time in seconds")
    args = parser.parse_args()

    sink = ReplySink(args.delay)
    sink_port, bot_port, bare_port = free_port(), free_port(), free_port()
    serve_in_thread(sink.app, sink_port)
    workdir = tempfile.mkdtemp(prefix="kampung-bench-")
    public = f"http://127.0.0.1:{bot_port}"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{workdir}/kampung.db", "DATA_DIR": f"{workdir}/data",
           "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_WHATSAPP_FROM": WA_FROM,
           "TWILIO_API_BASE_URL": f"http://127.0.0.1:{sink_port}", "PUBLIC_BASE_URL": public,
           "LOG_LEVEL": "WARNING", "QUIET_HOURS": "off"}
    bot = subprocess.Popen([sys.executable, "-m", "bot.cli", "--env-file", "/nonexistent", "serve",
                            "--host", "127.0.0.1", "--port", str(bot_port)], cwd=ROOT, env=env)
    bare = subprocess.Popen([sys.executable, "-c", BARE_APP + f"\nimport uvicorn\nuvicorn.run(app, host='127.0.0.1', "
                             f"port={bare_port}, log_level='warning')"], cwd=workdir)
    try:
        wait_until_up(f"{public}/healthz")
        wait_until_up(f"http://127.0.0.1:{bare_port}/webhooks/twilio")
        # Warm-up: a few messages so imports, caches and connections are ready.
        asyncio.run(post_all(public, public, forms(20, 10_000_000), 4))
        bare_time, _ = asyncio.run(post_all(f"http://127.0.0.1:{bare_port}", public, forms(args.messages, 0),
                                            args.concurrency))
        intake_time, posted = asyncio.run(post_all(public, public, forms(args.messages, 0), args.concurrency))
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and sum(1 for a in posted if a in sink.first_reply) < len(posted):
            time.sleep(0.05)
        answered = [sink.first_reply[a] - posted[a] for a in posted if a in sink.first_reply]
        first_post = min(posted.values())
        last_reply = max(sink.first_reply[a] for a in posted if a in sink.first_reply)
    finally:
        for proc in (bot, bare):
            proc.send_signal(signal.SIGINT)
        for proc in (bot, bare):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()

    answered.sort()
    bare_rate, intake_rate = args.messages / bare_time, args.messages / intake_time
    print(f"messages: {args.messages} webhooks, {args.concurrency} at a time; the fake answers in "
          f"{args.delay * 1000:.0f} ms")
    print(f"bare Starlette endpoint: {bare_rate:,.0f} requests/s")
    print(f"webhook intake (kampung serve): {intake_rate:,.0f} requests/s = {intake_rate / bare_rate:.0%} of bare")
    print(f"end to end: {len(answered) / (last_reply - first_post):,.0f} messages/s "
          f"({len(answered)} of {len(posted)} answered)")
    if answered:
        print(f"latency webhook -> reply: p50 {statistics.median(answered) * 1000:,.0f} ms, "
              f"p99 {answered[max(0, int(len(answered) * 0.99) - 1)] * 1000:,.0f} ms")


if __name__ == "__main__":
    main()
