"""Alembic environment of the Joint planning: its own schema, run as its own role."""

from services.joint_planning.db.models import Base
from shared.migrations import run_migrations

run_migrations(Base.metadata)
