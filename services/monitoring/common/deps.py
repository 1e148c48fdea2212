"""Dependencies of this service's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.monitoring.config import Settings
from shared.deps import settings_dependency

AppSettings = Annotated[Settings, Depends(settings_dependency(Settings))]
"""The service's settings, typed: the one way they reach a route."""
