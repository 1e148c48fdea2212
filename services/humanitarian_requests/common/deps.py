"""Dependencies of this service's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.humanitarian_requests.config import Settings


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(_settings)]
