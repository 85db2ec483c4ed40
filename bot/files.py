"""Files the bot sends (exports, charts) as public links: WhatsApp (Twilio) can only
attach media it fetches by URL. A link names a file under the data directory and
carries an HMAC of that name, so nobody can guess or forge a link to another file.
"""
from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from bot.settings import Settings

FILES_PATH = "/files"


def _signature(settings: Settings, name: str) -> str:
    key = (settings.files_secret or settings.twilio_auth_token).encode()
    return hmac.new(key, name.encode(), hashlib.sha256).hexdigest()[:32]


def public_url(settings: Settings, path: str | Path) -> str | None:
    """The link to a file under the data directory; None without PUBLIC_BASE_URL or a
    key, and for files elsewhere (never published)."""
    resolved, root = Path(path).resolve(), settings.data_dir.resolve()
    if not settings.public_base_url or not (settings.files_secret or settings.twilio_auth_token):
        return None
    if not resolved.is_relative_to(root):
        return None
    name = resolved.relative_to(root).as_posix()
    return f"{settings.public_base_url}{FILES_PATH}/{quote(name)}?sig={_signature(settings, name)}"


def file_routes(settings: Settings) -> list[Route]:
    async def serve(request: Request) -> Response:
        name = request.path_params["name"]
        given = request.query_params.get("sig", "")
        path = (settings.data_dir / name).resolve()
        inside = path.is_relative_to(settings.data_dir.resolve())
        if not inside or not hmac.compare_digest(given, _signature(settings, name)) or not path.is_file():
            return Response(status_code=404)
        return FileResponse(path)

    return [Route(FILES_PATH + "/{name:path}", serve, methods=["GET"])]
