"""Report photos: fetched after the conversation through the channel that owns them
(Twilio with credentials, Telegram through getFile) or plain HTTP, stored under
DATA_DIR/reports, retried on failure, and never fetched twice."""
from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from bot.app import build_app
from bot.channels.telegram_channel import TelegramChannel
from bot.channels.twilio_channel import TwilioChannel
from bot.media import MAX_ATTEMPTS, PhotoFetcher, extension
from bot.messages import Media
from bot.services import Services
from bot.settings import Settings, load_settings
from db.reports import ReportPhoto
from tests.fakes.server import ServerThread, wait_for
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN
from tests.transcript import Kampung

JPEG = b"\xff\xd8\xff\xe0 a photo of a pothole"
PUBLIC = "https://bot.example.org"


@pytest.fixture
def settings(tmp_path):
    return load_settings(env_file=None, environ={
        "DATABASE_URL": f"sqlite:///{tmp_path}/kampung.db", "DATA_DIR": str(tmp_path / "data")})


@pytest.fixture
def photo_host():
    """A plain web server with one photo on it."""
    async def photo(request):
        return Response(JPEG, media_type="image/jpeg")

    with ServerThread(Starlette(routes=[Route("/p.jpg", photo)])) as server:
        yield server


def report_with_photo(kampung: Kampung, media: Media) -> None:
    sri = kampung.resident("whatsapp:+6281234567001")
    sri.onboard()
    sri.says("lapor")
    sri.says("1")
    sri.says("lubang di tikungan")
    sri.says(media=[media])
    sri.says("lewati")
    sri.says("kirim").hears("LPR-0001")


def photos(app) -> list[ReportPhoto]:
    with app.sessions() as session:
        return list(session.scalars(select(ReportPhoto).order_by(ReportPhoto.id)))


def fetcher(app, downloaders: dict | None = None) -> PhotoFetcher:
    return PhotoFetcher(app.engine, app.settings.data_dir, app.clock, downloaders)


# -- storing ------------------------------------------------------------------------------

async def test_photo_on_the_web_is_saved_under_the_data_dir(app, kampung, photo_host, settings):
    report_with_photo(kampung, Media(photo_host.base_url + "/p.jpg", "image/jpeg"))
    assert await fetcher(app).fetch_pending() == 1

    [photo] = photos(app)
    expected = settings.data_dir / "reports" / "LPR-0001-1.jpg"
    assert (photo.status, photo.path, photo.attempts, photo.error) == ("saved", str(expected), 1, None)
    assert expected.read_bytes() == JPEG
    assert await fetcher(app).fetch_pending() == 0  # nothing left to do


@pytest.mark.parametrize("content_type, ext", [
    ("image/jpeg", "jpg"), ("image/png", "png"), ("image/webp", "webp"), ("image/jpeg; charset=x", "jpg"), ("", "bin"),
])
def test_file_extension_from_content_type(content_type, ext):
    assert extension(content_type) == ext


async def test_failed_download_is_retried_with_back_off_then_given_up(app, kampung, clock):
    report_with_photo(kampung, Media("https://media.example.org/p.jpg", "image/jpeg"))

    async def broken(url: str) -> bytes:
        raise ConnectionError("network down")

    photo_fetcher = fetcher(app, {"https://media.example.org/": broken})
    assert await photo_fetcher.fetch_pending() == 0
    [photo] = photos(app)
    assert (photo.status, photo.attempts, photo.path) == ("pending", 1, None)
    assert "network down" in photo.error
    assert photo.not_before == clock.now() + timedelta(minutes=2)
    assert await photo_fetcher.fetch_pending() == 0 and photos(app)[0].attempts == 1  # waits for its time

    for _ in range(MAX_ATTEMPTS - 1):
        clock.set(photos(app)[0].not_before)
        await photo_fetcher.fetch_pending()
    [photo] = photos(app)
    assert (photo.status, photo.attempts) == ("failed", MAX_ATTEMPTS)


async def test_reference_nothing_here_can_fetch_stays_pending(app, kampung, clock):
    report_with_photo(kampung, Media("telegram-file:AgADBAAD", "image/jpeg"))
    assert await fetcher(app).fetch_pending() == 0
    [photo] = photos(app)
    assert (photo.status, photo.attempts, photo.not_before) == ("pending", 0, clock.now() + timedelta(hours=1))


async def test_two_fetchers_never_fetch_the_same_photo(app, kampung):
    report_with_photo(kampung, Media("https://media.example.org/p.jpg", "image/jpeg"))
    started, release, calls = asyncio.Event(), asyncio.Event(), []

    async def slow(url: str) -> bytes:
        calls.append(url)
        started.set()
        await release.wait()
        return JPEG

    first = asyncio.create_task(fetcher(app, {"https://media.example.org/": slow}).fetch_pending())
    await started.wait()
    assert await fetcher(app, {"https://media.example.org/": slow}).fetch_pending() == 0
    release.set()
    assert await first == 1
    assert len(calls) == 1


# -- the channels' downloads ------------------------------------------------------------------

def twilio_settings(fake, token: str = AUTH_TOKEN) -> Settings:
    return Settings(twilio_account_sid=ACCOUNT_SID, twilio_auth_token=token, twilio_api_base_url=fake.base_url,
                    twilio_whatsapp_from="+14155238886", public_base_url=PUBLIC)


async def _enqueue(msg) -> bool:
    return True


async def test_twilio_media_is_downloaded_with_the_account_credentials(fake):
    url = fake.add_media(JPEG)
    channel = TwilioChannel(twilio_settings(fake), _enqueue)
    assert url.startswith(channel.media_prefix)
    assert await channel.download(url) == JPEG
    assert [r["at"] for r in fake.media_requests] == ["api", "cdn"]
    assert fake.media_requests[0]["authorized"]


async def test_twilio_media_with_wrong_credentials_fails(fake):
    url = fake.add_media(JPEG)
    with pytest.raises(httpx.HTTPStatusError):
        await TwilioChannel(twilio_settings(fake, token="wrong"), _enqueue).download(url)


async def test_twilio_credentials_never_go_to_another_host(fake):
    with pytest.raises(ValueError):
        await TwilioChannel(twilio_settings(fake), _enqueue).download("https://elsewhere.example.org/p.jpg")


async def test_telegram_file_is_downloaded_through_get_file():
    api = FakeTelegramAPI().start()
    try:
        api.add_file("AgADphoto", JPEG, "photos/file_7.jpg")
        settings = Settings(telegram_bot_token=api.token, telegram_api_base_url=api.base_url,
                            public_base_url=PUBLIC, telegram_webhook_secret="s")
        channel = TelegramChannel(settings, _enqueue, [])
        await channel.start()
        try:
            assert await channel.download("telegram-file:AgADphoto") == JPEG
        finally:
            await channel.stop()
        assert api.calls("getFile") == [{"file_id": "AgADphoto"}]
        assert api.calls("downloadFile") == [{"path": "photos/file_7.jpg"}]
    finally:
        api.stop()


def test_services_give_the_worker_each_channels_download(tmp_path, fake):
    api = FakeTelegramAPI().start()
    try:
        settings = load_settings(env_file=None, environ={
            "DATABASE_URL": f"sqlite:///{tmp_path}/k.db", "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_WHATSAPP_FROM": "+14155238886",
            "TWILIO_API_BASE_URL": fake.base_url, "PUBLIC_BASE_URL": PUBLIC, "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_BASE_URL": api.base_url, "TELEGRAM_WEBHOOK_SECRET": "s"})
        app = build_app(settings)
        try:
            downloaders = Services(app).worker.photos.downloaders
            assert set(downloaders) == {fake.base_url + "/", "telegram-file:"}
        finally:
            app.engine.dispose()
    finally:
        api.stop()


# -- the whole way: a WhatsApp photo from the webhook to the disk -----------------------------------

_sids = (f"SM{n:032d}" for n in itertools.count(500))


def test_whatsapp_photo_reaches_the_data_dir(tmp_path, fake):
    settings = load_settings(env_file=None, environ={
        "DATABASE_URL": f"sqlite:///{tmp_path}/kampung.db", "DATA_DIR": str(tmp_path / "data"),
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_WHATSAPP_FROM": "+14155238886",
        "TWILIO_API_BASE_URL": fake.base_url, "PUBLIC_BASE_URL": PUBLIC})
    app = build_app(settings)
    services = Services(app)
    sender = "whatsapp:+6281234567001"

    def post(client, body: str = "", **extra) -> None:
        params = {"MessageSid": next(_sids), "From": sender, "To": "whatsapp:+14155238886", "Body": body,
                  "NumMedia": "0", **extra}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + "/webhooks/twilio", params)
        assert client.post("/webhooks/twilio", data=params, headers={"X-Twilio-Signature": signature}).status_code == 200

    try:
        with TestClient(services.web_app(), base_url="http://internal:8000") as client:
            for text in ("halo", "setuju", "Bu Sri", "4", "lewati", "1", "lapor", "1", "lubang di tikungan"):
                post(client, text)
            post(client, NumMedia="1", MediaUrl0=fake.add_media(JPEG), MediaContentType0="image/jpeg")
            for text in ("lewati", "kirim"):
                post(client, text)
            saved = wait_for(lambda: photos(app), lambda found: found and found[0].status == "saved",
                             lambda found: f"photos: {[(p.status, p.error) for p in found]}", timeout=10)
        assert Path(saved[0].path) == tmp_path / "data" / "reports" / "LPR-0001-1.jpg"
        assert Path(saved[0].path).read_bytes() == JPEG
    finally:
        app.engine.dispose()
