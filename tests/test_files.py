"""Documents travel to WhatsApp as signed links under PUBLIC_BASE_URL/files."""
from dataclasses import replace

from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.channels.twilio_channel import TwilioChannel
from bot.files import file_routes, public_url
from bot.messages import OutgoingMessage
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN


def make_settings(settings, tmp_path, base_url=""):
    return replace(settings, data_dir=tmp_path / "data", public_base_url="https://bot.example.org",
                   twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
                   twilio_whatsapp_from="+14155238886", twilio_api_base_url=base_url)


def test_a_signed_link_serves_the_file_and_nothing_else(settings, tmp_path):
    settings = make_settings(settings, tmp_path)
    export = settings.data_dir / "exports" / "laporan.csv"
    export.parent.mkdir(parents=True)
    export.write_text("ticket,status\nLPR-0001,baru\n")
    (settings.data_dir / "secret.txt").write_text("no")
    url = public_url(settings, export)
    assert url.startswith("https://bot.example.org/files/exports/laporan.csv?sig=")
    client = TestClient(Starlette(routes=file_routes(settings)))
    path = url.removeprefix("https://bot.example.org")
    assert client.get(path).text.startswith("ticket,status")
    assert client.get("/files/exports/laporan.csv?sig=forged").status_code == 404
    assert client.get("/files/secret.txt?sig=" + path.rsplit("sig=", 1)[1]).status_code == 404
    assert client.get("/files/../kampung.db?sig=x").status_code == 404


def test_no_public_base_url_means_no_link(settings, tmp_path):
    settings = replace(make_settings(settings, tmp_path), public_base_url="")
    assert public_url(settings, settings.data_dir / "x.csv") is None


async def test_whatsapp_document_is_sent_as_a_media_link(settings, tmp_path, fake):
    settings = make_settings(settings, tmp_path, fake.base_url)
    export = settings.data_dir / "exports" / "laporan.xlsx"
    export.parent.mkdir(parents=True)
    export.write_bytes(b"x")

    async def enqueue(msg):
        return True

    channel = TwilioChannel(settings, enqueue)
    await channel.send(OutgoingMessage("whatsapp", "+6281234567001", "Ini ekspornya", document_path=str(export)))
    [sent] = fake.requests
    assert sent["MediaUrl"][0].startswith("https://bot.example.org/files/exports/laporan.xlsx?sig=")
