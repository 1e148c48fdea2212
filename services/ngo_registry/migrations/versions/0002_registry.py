"""Registry tables: NGOs, registrations, vetting decisions, agreements, search cells.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "ngo_registry"
TZ = sa.DateTime(timezone=True)
TEXTS = postgresql.ARRAY(sa.Text)
EMPTY_JSON_LIST = sa.text("'[]'::jsonb")


def upgrade() -> None:
    op.create_table(
        "ngos",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("acronym", sa.Text),
        sa.Column("ngo_type", sa.Text, nullable=False),
        sa.Column("hq_country", sa.Text, nullable=False),
        sa.Column("website", sa.Text),
        sa.Column("contacts", postgresql.JSONB, nullable=False, server_default=EMPTY_JSON_LIST),
        sa.Column("sectors", TEXTS, nullable=False),
        sa.Column("capacities", postgresql.JSONB, nullable=False, server_default=EMPTY_JSON_LIST),
        sa.Column("operating_areas", TEXTS, nullable=False),
        sa.Column(
            "operating_points", postgresql.JSONB, nullable=False, server_default=EMPTY_JSON_LIST
        ),
        sa.Column("languages", TEXTS, nullable=False),
        sa.Column("operational_approach", sa.Text),
        sa.Column("vetting_status", sa.Text, nullable=False),
        sa.Column("vetted_until", sa.Date),
        sa.Column("eligibility", postgresql.JSONB, nullable=False, server_default=EMPTY_JSON_LIST),
        sa.Column("eligible", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ngos"),
        schema=SCHEMA,
    )
    # The expiry sweep looks for vetting that is due.
    op.create_index(
        "ix_ngos_vetting_due",
        "ngos",
        ["vetted_until"],
        schema=SCHEMA,
        postgresql_where=sa.text("vetted_until IS NOT NULL"),
    )
    # Directory filters: "NGOs in sector X", "NGOs working in area Y".
    op.create_index("ix_ngos_sectors", "ngos", ["sectors"], schema=SCHEMA, postgresql_using="gin")
    op.create_index(
        "ix_ngos_operating_areas",
        "ngos",
        ["operating_areas"],
        schema=SCHEMA,
        postgresql_using="gin",
    )

    op.create_table(
        "registrations",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("ngo_id", sa.Uuid, nullable=False),
        sa.Column("country", sa.Text, nullable=False),
        sa.Column("registration_number", sa.Text, nullable=False),
        sa.Column("legal_status", sa.Text, nullable=False),
        sa.Column("issued_on", sa.Date),
        sa.Column("expires_on", sa.Date),
        sa.PrimaryKeyConstraint("id", name="pk_registrations"),
        sa.ForeignKeyConstraint(
            ["ngo_id"],
            [f"{SCHEMA}.ngos.id"],
            name="fk_registrations_ngo_id_ngos",
            ondelete="CASCADE",
        ),
        # One registration number per country names one organisation; this is what turns a
        # duplicate into a 409 even when two officers register the same NGO at once.
        sa.UniqueConstraint(
            "country", "registration_number", name="uq_registrations_country_registration_number"
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_registrations_ngo_id", "registrations", ["ngo_id"], schema=SCHEMA)

    op.create_table(
        "vetting_decisions",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("ngo_id", sa.Uuid, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("from_status", sa.Text),
        sa.Column("to_status", sa.Text, nullable=False),
        sa.Column("decided_by", sa.Text, nullable=False),
        sa.Column("decided_at", TZ, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("notes", sa.Text),
        sa.Column("checks", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("vetted_until", sa.Date),
        sa.PrimaryKeyConstraint("id", name="pk_vetting_decisions"),
        sa.ForeignKeyConstraint(
            ["ngo_id"],
            [f"{SCHEMA}.ngos.id"],
            name="fk_vetting_decisions_ngo_id_ngos",
            ondelete="CASCADE",
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_vetting_decisions_ngo_id", "vetting_decisions", ["ngo_id", "decided_at"], schema=SCHEMA
    )

    op.create_table(
        "agreements",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("parties", postgresql.JSONB, nullable=False),
        sa.Column("ngo_ids", postgresql.ARRAY(sa.Uuid), nullable=False),
        sa.Column("sectors", TEXTS, nullable=False),
        sa.Column("pcodes", TEXTS, nullable=False),
        sa.Column(
            "mission_responsibilities",
            postgresql.JSONB,
            nullable=False,
            server_default=EMPTY_JSON_LIST,
        ),
        sa.Column(
            "reporting_obligations",
            postgresql.JSONB,
            nullable=False,
            server_default=EMPTY_JSON_LIST,
        ),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("signatories", postgresql.JSONB, nullable=False, server_default=EMPTY_JSON_LIST),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("expiring_notified_at", TZ),
        sa.Column("terminated_by", sa.Text),
        sa.Column("termination_reason", sa.Text),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agreements"),
        sa.CheckConstraint("starts_on <= ends_on", name="ck_agreements_dates_in_order"),
        schema=SCHEMA,
    )
    # "Agreements this NGO is party to" (eligibility, the NGO's own listing).
    op.create_index(
        "ix_agreements_ngo_ids", "agreements", ["ngo_ids"], schema=SCHEMA, postgresql_using="gin"
    )
    # The expiry sweep: active agreements by end date.
    op.create_index(
        "ix_agreements_active_ends_on",
        "agreements",
        ["ends_on"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'active'"),
    )

    op.create_table(
        "search_cells",
        sa.Column("sector", sa.Text, nullable=False),
        sa.Column("pcode", sa.Text, nullable=False),
        sa.Column("ngo_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("distance_km", sa.Float, nullable=False),
        sa.Column("via", sa.Text, nullable=False),
        sa.Column("eligible", sa.Boolean, nullable=False),
        sa.Column("agreement_id", sa.Uuid),
        sa.Column("capacities", postgresql.JSONB, nullable=False),
        # The primary key is the search's access path: (sector, county) → candidate NGOs.
        sa.PrimaryKeyConstraint("sector", "pcode", "ngo_id", name="pk_search_cells"),
        sa.ForeignKeyConstraint(
            ["ngo_id"],
            [f"{SCHEMA}.ngos.id"],
            name="fk_search_cells_ngo_id_ngos",
            ondelete="CASCADE",
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_search_cells_ngo_id", "search_cells", ["ngo_id"], schema=SCHEMA)


def downgrade() -> None:
    for table in ("search_cells", "agreements", "vetting_decisions", "registrations", "ngos"):
        op.drop_table(table, schema=SCHEMA)
