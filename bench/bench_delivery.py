"""Benchmark: one announcement to thousands of residents, through the real dispatcher.

Half the residents are on WhatsApp (Twilio), half on Telegram. The announcement is
queued by the real notifier, then one `kampung serve` sends it against local fakes
that enforce the platforms' limits with 429s (Twilio: 80 messages/s per sender;
Telegram: 30/s overall, 1/s per chat) and answer after 100-200 ms. While it goes,
new residents write to the bot through signed webhooks every 200 ms; the time from
their webhook to the bot's reply at the fake is their reply latency.

Prints, per channel, messages/s as a fraction of the limit (from the outbox's send
times), the 429s the fakes answered, and the p50/p99 reply latency.

    python bench/bench_delivery.py [--residents 10000] [--chatters 100]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_endtoend import free_port, wait_until_up  # noqa: E402
from bot.app import build_app  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from db.models import Identity, Outbox, Resident, Rt  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioApi  # noqa: E402

WA_FROM = "+14155238886"
TG_TOKEN = "123456:bench-token"
TG_SECRET = "bench-secret"
TEXT = ("Kerja bakti Minggu pagi jam 07.00 di sepanjang selokan RT 04. "
        "Bawa cangkul dan karung. Terima kasih!")
LIMITS = {"whatsapp": 80.0, "telegram": 30.0}


def seed(settings, residents: int) -> int:
    """Residents (half WhatsApp, half Telegram, all consented and recently in touch) and
    one announcement to all of them, queued by the notifier as the broadcast feature does."""
    app = build_app(settings)
    now = datetime.now(timezone.utc)
    with app.engine.begin() as conn:
        rt_ids = conn.scalars(select(Rt.id).order_by(Rt.number)).all()
        rows = [{"name": f"Warga {n}", "phone": f"+62813{n:08d}" if n % 2 == 0 else None, "language": "id",
                 "rt_id": rt_ids[n % len(rt_ids)], "consent_at": now, "consent_source": "chat", "opted_out": False,
                 "created_at": now} for n in range(residents)]
        conn.execute(insert(Resident), rows)
        ids = conn.scalars(select(Resident.id).order_by(Resident.id)).all()
        conn.execute(insert(Identity), [
            {"resident_id": rid, "channel": "whatsapp" if n % 2 == 0 else "telegram",
             "address": f"+62813{n:08d}" if n % 2 == 0 else str(700_000_000 + n),
             "last_inbound_at": now - timedelta(hours=1)}
            for n, rid in enumerate(ids)])
        params = {"text": TEXT, "sender": "Pak RT", "audience": "semua warga"}
        queued = sum(app.core.notifier.queue(conn, rid, "broadcast.message", params, now, announcement=True,
                                             even_in_quiet_hours=True) is not None for rid in ids)
    app.engine.dispose()
    return queued


class Chatter(threading.Thread):
    """New residents writing "halo" while the announcement goes, alternating WhatsApp and
    Telegram; notes when each webhook went."""

    def __init__(self, public: str, count: int, every: float):
        super().__init__(daemon=True)
        self.public, self.count, self.every = public, count, every
        self.posted: dict[str, float] = {}
        self.validator = RequestValidator(AUTH_TOKEN)

    def run(self) -> None:
        with httpx.Client(base_url=self.public, timeout=30.0) as client:
            for n in range(self.count):
                if n % 2 == 0:
                    address = f"+62819{n:08d}"
                    form = {"MessageSid": f"SM{n:032x}", "From": f"whatsapp:{address}", "To": f"whatsapp:{WA_FROM}",
                            "Body": "halo", "NumMedia": "0", "AccountSid": ACCOUNT_SID}
                    headers = {"X-Twilio-Signature": self.validator.compute_signature(
                        self.public + "/webhooks/twilio", form)}
                    self.posted["wa:" + address] = time.perf_counter()
                    client.post("/webhooks/twilio", data=form, headers=headers)
                else:
                    chat = 900_000_000 + n
                    update = {"update_id": 5_000_000 + n, "message": {
                        "message_id": n, "date": int(time.time()), "text": "halo",
                        "chat": {"id": chat, "type": "private", "first_name": "Warga"},
                        "from": {"id": chat, "is_bot": False, "first_name": "Warga"}}}
                    self.posted[f"tg:{chat}"] = time.perf_counter()
                    client.post("/webhooks/telegram", content=json.dumps(update),
                                headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET,
                                         "Content-Type": "application/json"})
                time.sleep(self.every)


class ReplyWatch:
    """Notes when the first reply to each chatter reached a fake, reading only what the
    fakes recorded since the last look (the fakes share this process's CPU)."""

    def __init__(self, twilio: FakeTwilioApi, telegram: FakeTelegramAPI):
        self.twilio, self.telegram = twilio, telegram
        self.seen: dict[str, float] = {}
        self._twilio_at = self._telegram_at = 0

    def look(self) -> None:
        now = time.perf_counter()
        with self.twilio._lock:
            new_requests = self.twilio._requests[self._twilio_at:]
        self._twilio_at += len(new_requests)
        for request in new_requests:
            to = "wa:" + request.get("To", "").removeprefix("whatsapp:")
            if to.startswith("wa:+62819") and request.get("response_status") == 201:
                self.seen.setdefault(to, now)
        with self.telegram._lock:
            new_calls = self.telegram._calls[self._telegram_at:]
        self._telegram_at += len(new_calls)
        for method, params, ok in new_calls:
            chat = str(params.get("chat_id"))
            if ok and method == "sendMessage" and chat.startswith("9"):
                self.seen.setdefault("tg:" + chat, now)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--chatters", type=int, default=100, help="new residents writing during the broadcast")
    args = parser.parse_args()

    twilio = FakeTwilioApi().start()
    twilio.delay = (0.1, 0.2)
    telegram = FakeTelegramAPI(TG_TOKEN, delay=(0.1, 0.2)).start()
    workdir = tempfile.mkdtemp(prefix="kampung-delivery-")
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    twilio.callback_sink = public  # delivery receipts reach the bot, as Twilio's would
    env = {"DATABASE_URL": f"sqlite:///{workdir}/kampung.db", "DATA_DIR": f"{workdir}/data",
           "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_WHATSAPP_FROM": WA_FROM,
           "TWILIO_API_BASE_URL": twilio.base_url, "TELEGRAM_BOT_TOKEN": TG_TOKEN,
           "TELEGRAM_WEBHOOK_SECRET": TG_SECRET, "TELEGRAM_API_BASE_URL": telegram.base_url,
           "PUBLIC_BASE_URL": public, "QUIET_HOURS": "off", "LOG_LEVEL": "WARNING"}
    settings = load_settings(env_file=None, environ=env)
    queued = seed(settings, args.residents)
    bot = subprocess.Popen([sys.executable, "-m", "bot.cli", "--env-file", "/nonexistent", "serve",
                            "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT, env={**os.environ, **env})
    watch = ReplyWatch(twilio, telegram)
    replied = watch.seen
    try:
        wait_until_up(public + "/healthz")
        chatter = Chatter(public, args.chatters, 0.2)
        chatter.start()
        app = build_app(settings)
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline:
            watch.look()
            with app.engine.connect() as conn:
                left = conn.scalar(select(func.count()).select_from(Outbox).where(
                    Outbox.status.in_(("pending", "claimed", "sending"))))
            if left == 0 and not chatter.is_alive() and len(replied) >= len(chatter.posted):
                break
            time.sleep(0.05)  # replies are seen to within 50 ms
        with app.engine.connect() as conn:
            spans = {channel: conn.execute(
                select(func.count(), func.min(Outbox.sent_at), func.max(Outbox.sent_at))
                .where(Outbox.channel == channel, Outbox.status == "sent", Outbox.priority == 2)).one()
                for channel in LIMITS}
            failed = conn.scalar(select(func.count()).select_from(Outbox).where(Outbox.status != "sent"))
    finally:
        twilio.callback_sink = None  # receipts still on their way have nobody to go to
        bot.send_signal(signal.SIGINT)
        try:
            bot.wait(timeout=30)
        except subprocess.TimeoutExpired:
            bot.kill()

    print(f"announcement to {queued} residents ({queued // 2} WhatsApp, {queued - queued // 2} Telegram); "
          f"the fakes answer in 100-200 ms; {failed} rows not sent")
    for channel, (count, first, last) in spans.items():
        rate = count / max((last - first).total_seconds(), 1e-9) if count > 1 else 0.0
        print(f"{channel}: {count} sent at {rate:,.1f} messages/s = {rate / LIMITS[channel]:.0%} of "
              f"{LIMITS[channel]:.0f}/s")
    print(f"429 answers: Twilio {twilio.rate_limited}, Telegram {telegram.rate_limited}")
    latencies = sorted(replied[k] - chatter.posted[k] for k in chatter.posted if k in replied)
    if latencies:
        print(f"chat replies during the broadcast: {len(latencies)} of {len(chatter.posted)}; "
              f"p50 {statistics.median(latencies) * 1000:,.0f} ms, "
              f"p99 {latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000:,.0f} ms (webhook in -> reply at the fake)")
    twilio.stop()
    telegram.stop()


if __name__ == "__main__":
    main()
