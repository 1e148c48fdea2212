"""Dependencies of this service's routers: its settings and the role policies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from services.joint_planning.config import Settings
from shared.auth import RECLASSIFY_ROLES, Principal, Role, Tenant, policy
from shared.deps import settings_dependency

AppSettings = Annotated[Settings, Depends(settings_dependency(Settings))]
"""The service's settings, typed: the one way they reach a route."""

Staff = Annotated[Principal, policy(Role.ops_centre, Role.admin)]
"""Mission staff who manage operations, meetings and the mission's side of notifications."""

StaffOrNgo = Annotated[
    Principal, policy(Role.ops_centre, Role.admin, Role.ngo, tenant=Tenant.own_ngo)
]
"""Staff, or an NGO reading what concerns it (the domain hides the rest behind 404)."""

Reclassifier = Annotated[Principal, policy(*RECLASSIFY_ROLES)]
"""Staff who may change a record's sensitivity with a reason (protection officers too)."""

IfMatch = Annotated[str | None, Header()]
