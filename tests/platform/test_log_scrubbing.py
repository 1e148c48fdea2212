"""No personal data and no SQL parameters in log lines (issue 13): the scrubber on the log
pipeline and `hide_parameters` on every engine, checked on lines rendered by the real
pipeline, with errors raised by the real database."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.db import create_engine
from shared.logging import capture_log_lines, configure_logging, get_logger
from shared.logscrub import REDACTED, scrub_text


@pytest.mark.parametrize(
    ("raw", "secret"),
    [
        ("[SQL: INSERT INTO t VALUES ($1)]\n[parameters: ('Nyandeng Deng', 7.2123)]", "Nyandeng"),
        ("DETAIL:  Key (contact)=(+211-912-345) already exists.", "912-345"),
        ("DETAIL:  Failing row contains (1, Achol (survivor), null).", "Achol"),
        ('invalid input syntax for type integer: "Nyandeng Deng"', "Nyandeng"),
        ("invalid input for query argument $1: 'Nyandeng Deng' (not an int)", "Nyandeng"),
        ("1 validation error\n  input_value='Nyandeng Deng', input_type=str", "Nyandeng"),
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", "eyJhbGci"),
        ("write to achol.deng@example.org", "achol.deng@example.org"),
        ("call +211 912345678 tonight", "912345678"),
        ("seen at 7.212345, 31.98765", "7.212345"),
        ("seen at -12.98765", "12.98765"),
    ],
)
def test_what_the_database_and_validators_echo_is_cut_out(raw: str, secret: str) -> None:
    scrubbed = scrub_text(raw)
    assert secret not in scrubbed
    assert scrubbed != raw


@pytest.mark.parametrize(
    "kept",
    [
        "request 9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d submitted in SS0302",
        "at 2026-12-03T07:50:12.123456+00:00 after 3 attempts",
        "broker 127.0.0.1:9092 is away",
        "relay published 4530 events",
    ],
)
def test_what_an_operator_needs_passes_untouched(kept: str) -> None:
    assert scrub_text(kept) == kept


@pytest.fixture
def lines_logged() -> None:
    configure_logging(service="scrub-test")


async def test_no_logged_line_carries_a_parameter_or_a_personal_field(
    lines_logged: None, database_url: str
) -> None:
    plant = f"Nyandeng-{uuid.uuid4().hex[:10]}"
    table = f"scrub_{uuid.uuid4().hex[:8]}"
    log = get_logger("scrub.test")
    engine = create_engine(database_url, schema="public", application_name="scrub-test")
    try:
        with capture_log_lines() as lines:
            async with engine.begin() as connection:
                await connection.execute(text(f"CREATE TEMP TABLE {table} (contact text UNIQUE)"))
                await connection.execute(text(f"INSERT INTO {table} VALUES (:c)"), {"c": plant})
                # A unique violation: without hide_parameters, SQLAlchemy's text would end
                # in "[parameters: ('Nyandeng-…',)]".
                with pytest.raises(DBAPIError) as raised:
                    async with connection.begin_nested():
                        await connection.execute(
                            text(f"INSERT INTO {table} VALUES (:c)"), {"c": plant}
                        )
                assert "parameters hidden" in str(raised.value)
                log.error("scrub.failed", statement="insert", exc_info=raised.value)
                # A bad literal: Postgres itself echoes the value in its message.
                with pytest.raises(DBAPIError) as raised:
                    async with connection.begin_nested():
                        await connection.execute(text("SELECT CAST(:c AS integer)"), {"c": plant})
                assert plant in str(raised.value)
                log.error("scrub.failed", statement="cast", exc_info=raised.value)
            log.info("aid_request.seen", description=plant, contact=plant, lat=7.2123, lon=31.9)
            logging.getLogger("sqlalchemy.test").error("stdlib: %s", f"Bearer {plant}")
            # Positive control: a field the scrubber has no reason to touch reaches the line.
            log.info("scrub.control", note=plant)
    finally:
        await engine.dispose()

    rendered = [json.loads(line) for line in lines]
    assert [r["event"] for r in rendered] == [
        "scrub.failed",
        "scrub.failed",
        "aid_request.seen",
        "stdlib: Bearer [redacted]",
        "scrub.control",
    ]
    assert all("Traceback" in r["exception"] for r in rendered[:2])
    assert rendered[2]["description"] == rendered[2]["lat"] == REDACTED
    leaking = [line for line in lines if plant in line]
    assert leaking == [lines[-1]]
