"""Alembic environment of the NGO registry: its own schema, run as its own role."""

from services.ngo_registry.db.models import Base
from shared.migrations import run_migrations

run_migrations(Base.metadata)
