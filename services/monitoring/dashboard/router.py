"""The operations dashboard page. It loads without a token (it holds no data); everything
it shows comes from the `/api` routes, which need an ops_centre or admin token."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from shared.auth import public_route

STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter(tags=["dashboard"], dependencies=[public_route()])


@router.get("/", summary="The operations dashboard", include_in_schema=False)
async def dashboard() -> FileResponse:
    """The single-page dashboard (plain HTML, JS and CSS; works offline)."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html")


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)
