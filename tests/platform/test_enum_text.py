"""`shared.db.EnumText`: a StrEnum at the ORM, the same TEXT and strings in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

from services.ngo_registry.db.models.registry import Ngo
from shared.db import EnumText
from shared.events.schemas.ngo_registry import VettingStatus

DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


def test_members_and_their_strings_are_stored_as_the_string() -> None:
    column = EnumText(VettingStatus)
    assert column.process_bind_param(VettingStatus.vetted, DIALECT) == "vetted"
    assert column.process_bind_param("suspended", DIALECT) == "suspended"
    assert column.process_bind_param(None, DIALECT) is None


def test_a_stored_string_reads_back_as_the_member() -> None:
    value = EnumText(VettingStatus).process_result_value("under_review", DIALECT)
    assert value is VettingStatus.under_review
    assert EnumText(VettingStatus).process_result_value(None, DIALECT) is None


def test_a_value_outside_the_enum_is_refused_not_written() -> None:
    with pytest.raises(ValueError, match="not_a_status"):
        EnumText(VettingStatus).process_bind_param("not_a_status", DIALECT)


def test_the_column_is_still_text() -> None:
    table = Ngo.__table__
    assert isinstance(table, Table)
    ddl = str(CreateTable(table).compile(dialect=DIALECT))
    assert "vetting_status TEXT NOT NULL" in ddl
