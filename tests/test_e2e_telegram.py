"""The whole bot over Telegram: the real python-telegram-bot against a fake Bot API
server, the web app with its lifespan (webhook mode) or the long-polling loop."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, update
from starlette.testclient import TestClient

from bot.app import App, build_app
from bot.services import Services
from bot.settings import load_settings
from db.models import Conversation, Identity, Inbox, Outbox, Resident
from tests.e2e_support import count, settle
from tests.fakes.server import wait_for
from tests.fakes.telegram_api import FakeTelegramAPI, callback_update, message_update
from tests.transcript import Kampung

PUBLIC = "https://bot.example.org"
SECRET = "e2e-webhook-secret"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
BUSY_WAIT = 5.0

def text_update(update_id: int, text: str) -> dict:
    return message_update(update_id, text=text)


def keyboard(call: dict) -> list[tuple[str, str]]:
    """(label, callback_data) of an inline keyboard, in order."""
    markup = call.get("reply_markup") or {}
    return [(b["text"], b["callback_data"]) for row in markup.get("inline_keyboard", []) for b in row]


def make_app(tmp_path, api: FakeTelegramAPI, **env) -> App:
    environ = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'kampung.db'}",
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_BASE_URL": api.base_url,
        **env,
    }
    settings = load_settings(env_file=None, environ=environ)
    settings.validate()
    return build_app(settings)


def conversation(app: App, chat_id: int) -> tuple[str, str]:
    with app.sessions() as session:
        identity = session.scalars(
            select(Identity).where(Identity.channel == "telegram", Identity.address == str(chat_id))
        ).one()
        conv = session.get(Conversation, identity.resident_id)
        return conv.flow, conv.step


# -- webhook mode ---------------------------------------------------------------------


class WebhookBot:
    def __init__(self, app: App, services: Services, client: TestClient, api: FakeTelegramAPI):
        self.app = app
        self.services = services
        self.client = client
        self.api = api

    def worker_pass(self) -> None:
        """One full inbox + outbox pass, in the web app's event loop."""
        self.client.portal.call(self.services.worker.run_once)

    def post(self, update: dict, secret: str | None = SECRET):
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        return self.client.post("/webhooks/telegram", content=json.dumps(update), headers=headers)

    def send(self, update: dict) -> list[dict]:
        """Deliver one update; returns the sendMessage calls Telegram accepted for it."""
        before = len(self.api.delivered("sendMessage"))
        assert self.post(update).status_code == 200
        settle(self.app)
        # The dispatcher paces each chat, so wait until every Telegram outbox row is at the fake.
        with self.app.sessions() as session:
            rows = session.scalar(select(func.count()).select_from(Outbox).where(Outbox.channel == "telegram"))
        return wait_for(lambda: self.api.delivered("sendMessage"), lambda found: len(found) >= rows,
                        lambda found: f"{len(found)} messages at the fake, {rows} in the outbox")[before:]


@pytest.fixture
def webhook_bot(tmp_path, api):
    app = make_app(tmp_path, api, PUBLIC_BASE_URL=PUBLIC, TELEGRAM_WEBHOOK_SECRET=SECRET)
    services = Services(app)
    with TestClient(services.web_app(), base_url="http://internal:8000") as client:  # runs the lifespan
        yield WebhookBot(app, services, client, api)
    app.engine.dispose()


def test_lifespan_registers_webhook_with_secret_and_commands(webhook_bot, api):
    [hook] = api.calls("setWebhook")
    assert hook["url"] == PUBLIC + "/webhooks/telegram"
    assert hook["secret_token"] == SECRET
    assert set(hook["allowed_updates"]) == {"message", "callback_query"}
    [commands] = api.calls("setMyCommands")
    assert [c["command"] for c in commands["commands"]] == ["start", "menu", "bantuan", "batal"]
    assert all(c["description"] for c in commands["commands"])
    assert "getUpdates" not in api.methods()


def test_start_then_button_press_advances_onboarding(webhook_bot, api):
    welcome, consent = webhook_bot.send(text_update(1, "/start"))

    assert welcome["chat_id"] == consent["chat_id"] == 555
    assert "Kampung Home Industri" in welcome["text"]
    assert "setuju?" in consent["text"]
    # Telegram has no phone number: the consent question comes with the contact button,
    # on a reply keyboard (the only place Telegram has it); its other buttons send their label.
    assert consent["reply_markup"] == {
        "keyboard": [[{"text": "Setuju"}], [{"text": "Tidak setuju"}],
                     [{"text": "📱 Bagikan nomor HP saya", "request_contact": True}]],
        "one_time_keyboard": True, "resize_keyboard": True}
    assert conversation(webhook_bot.app, 555) == ("onboarding", "consent")

    thanks, name = webhook_bot.send(text_update(2, "Setuju"))

    assert thanks["text"].startswith("Terima kasih")
    assert name["text"].startswith("Siapa nama Anda")
    assert [data for _, data in keyboard(name)] == ["use_profile"]  # offers the Telegram name
    assert conversation(webhook_bot.app, 555) == ("onboarding", "name")
    [rt] = webhook_bot.send(callback_update(3, "use_profile"))
    [answered] = api.wait_calls("answerCallbackQuery", 1)
    assert answered["callback_query_id"] == "cbq-3"
    assert "RT berapa" in rt["text"]
    assert ("RT 04", "04") in keyboard(rt)
    assert conversation(webhook_bot.app, 555) == ("onboarding", "rt")


def test_sharing_ones_number_on_telegram_joins_the_whatsapp_resident(webhook_bot):
    """Bu Sri registered on WhatsApp; on Telegram she shares her number and is herself."""
    sri = Kampung(webhook_bot.app).resident("whatsapp:+6281234567001")
    sri.onboard(name="Bu Sri", rt="4")
    with webhook_bot.app.engine.begin() as conn:  # this bot has no WhatsApp channel to send them
        conn.execute(update(Outbox).values(status="sent"))
    webhook_bot.send(text_update(1, "halo"))
    someone_else = {"phone_number": "6281234567999", "first_name": "Budi", "user_id": 777}
    assert webhook_bot.send(message_update(2, contact=someone_else)) == []  # not hers: ignored
    mine = {"phone_number": "6281234567001", "first_name": "Siti", "user_id": 555}
    linked, menu = webhook_bot.send(message_update(3, contact=mine))
    assert "tersambung dengan data Anda" in linked["text"] and "+6281234567001" in linked["text"]
    assert "Bu Sri" in menu["text"]
    assert conversation(webhook_bot.app, 555) == ("help", "menu")
    with webhook_bot.app.sessions() as session:
        assert session.scalars(select(func.count()).select_from(Resident)).one() == 1
        assert set(session.execute(select(Identity.channel, Identity.address))) == {
            ("whatsapp", "+6281234567001"), ("telegram", "555")}


@pytest.mark.parametrize("secret", ["wrong-secret", None])
def test_wrong_or_missing_secret_is_forbidden(webhook_bot, api, secret):
    resp = webhook_bot.post(text_update(1, "/start"), secret=secret)
    assert resp.status_code == 403
    webhook_bot.worker_pass()
    assert count(webhook_bot.app, Inbox) == 0
    assert api.calls("sendMessage") == []


@pytest.mark.parametrize("update", [
    message_update(5, text=12345),
    {"update_id": 6, "message": {**message_update(6, text="halo")["message"], "date": 10**20}},
    {"update_id": 7, "message": [message_update(7, text="halo")["message"]]},
], ids=["numeric-text", "huge-date", "message-list"])
def test_mistyped_update_is_bad_request_and_the_bot_carries_on(webhook_bot, api, update):
    assert webhook_bot.post(update).status_code == 400
    assert webhook_bot.post(text_update(8, "/start")).status_code == 200
    welcome, _consent = api.wait_calls("sendMessage", 2, timeout=10)  # the next update is answered as usual
    assert "Kampung Home Industri" in welcome["text"]
    assert count(webhook_bot.app, Inbox) == 1


def test_oversized_webhook_body_is_refused(webhook_bot, api):
    resp = webhook_bot.post(text_update(1, "x" * 70_000))
    assert resp.status_code == 413
    webhook_bot.worker_pass()
    assert count(webhook_bot.app, Inbox) == 0


def test_duplicate_update_id_is_processed_once(webhook_bot, api):
    first = webhook_bot.post(text_update(9, "/start"))
    second = webhook_bot.post(text_update(9, "/start"))
    assert (first.status_code, second.status_code) == (200, 200)

    settle(webhook_bot.app)
    assert len(api.wait_calls("sendMessage", 2)) == 2
    assert count(webhook_bot.app, Inbox) == 1
    assert count(webhook_bot.app, Outbox) == 2


# -- polling mode -------------------------------------------------------------------------


async def test_polling_mode_answers_a_pushed_update(tmp_path, api):
    app = make_app(tmp_path, api)  # no PUBLIC_BASE_URL: long polling
    services = Services(app)
    async with services.running():
        assert api.calls("deleteWebhook")
        assert api.calls("setWebhook") == []
        api.push_update(text_update(21, "/start"))
        welcome, consent = await api.wait_for_call("sendMessage", 2)
        assert welcome["chat_id"] == 555
        assert "Kampung Home Industri" in welcome["text"]
        assert [row[0]["text"] for row in consent["reply_markup"]["keyboard"]] == [
            "Setuju", "Tidak setuju", "📱 Bagikan nomor HP saya"]

        api.push_update(callback_update(22, "agree"))
        calls = await api.wait_for_call("sendMessage", 4)
        assert calls[-1]["text"].startswith("Siapa nama Anda")
        await api.wait_for_call("answerCallbackQuery")
    app.engine.dispose()

    assert "getUpdates" in api.methods()
    assert api.calls("setMyCommands")
    assert conversation(app, 555) == ("onboarding", "name")
