"""The one formatter of validation errors (`shared.validation`): every input path reports
what did not validate the same way."""

from __future__ import annotations

from enum import StrEnum

import pytest
from pydantic import BaseModel, Field, ValidationError

from shared.validation import validation_errors, validation_summary


class Colour(StrEnum):
    red = "red"
    blue = "blue"


class Inner(BaseModel):
    size: int = Field(ge=1)


class Thing(BaseModel):
    colour: Colour
    inner: Inner


def errors_of(value: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Thing.model_validate(value)
    return caught.value


def test_each_error_has_its_location_message_type_and_the_allowed_values() -> None:
    exc = errors_of({"colour": "green", "inner": {"size": 0}})
    errors = validation_errors(exc.errors())
    assert [e["location"] for e in errors] == [["colour"], ["inner", "size"]]
    assert errors[0]["type"] == "enum" and errors[0]["allowed"] == "'red' or 'blue'"
    assert errors[1]["type"] == "greater_than_equal" and "allowed" not in errors[1]
    assert all(e["message"] for e in errors)


def test_the_summary_names_the_first_errors_and_the_root() -> None:
    exc = errors_of({"colour": "green", "inner": {"size": 0}})
    assert validation_summary(exc.errors()) == (
        "colour: Input should be 'red' or 'blue'; "
        "inner.size: Input should be greater than or equal to 1"
    )
    assert validation_summary(exc.errors(), limit=1).startswith("colour: ")
    assert validation_summary(errors_of("not an object").errors()).startswith("<root>: ")
