"""Alembic environment of the Humanitarian requests: its own schema, run as its own role."""

from services.humanitarian_requests.db.models import Base
from shared.migrations import run_migrations

run_migrations(Base.metadata)
