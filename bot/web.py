"""The ASGI app: channel webhook routes plus `GET /healthz`."""
from __future__ import annotations

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def create_web_app(app, routes: list[Route], lifespan=None) -> Starlette:
    async def healthz(_request: Request) -> JSONResponse:
        try:
            with app.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            return JSONResponse({"status": "error", "database": str(exc)[:200]}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    return Starlette(routes=[Route("/healthz", healthz), *routes], lifespan=lifespan)
