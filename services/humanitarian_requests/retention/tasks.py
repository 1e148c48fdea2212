"""The retention sweep the runtime supervises: `purge_expired` once a pass, the loop shared
(`shared.retention`)."""

from __future__ import annotations

from services.humanitarian_requests.retention.service import purge_expired
from shared.retention import retention_sweep as sweep_of

retention_sweep = sweep_of(purge_expired)
