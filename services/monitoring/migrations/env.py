"""Alembic environment of the Monitoring: its own schema, run as its own role."""

from services.monitoring.db.models import Base
from shared.migrations import run_migrations

run_migrations(Base.metadata)
