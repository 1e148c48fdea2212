"""Which numbers an event can carry (pure unit test: no broker, no database)."""

from __future__ import annotations

import math

from shared.numbers import MAX_EXACT_INTEGER, unrepresentable_number


def test_finite_numbers_up_to_2_pow_53_pass_and_the_first_other_is_named() -> None:
    fine = {"a": [1, -MAX_EXACT_INTEGER, 0.5, True], "b": {"c": float(MAX_EXACT_INTEGER)}}
    assert unrepresentable_number(fine) is None
    assert unrepresentable_number({"items": [{"quantity": 1.0}, {"quantity": 1e20}]}) == (
        "items.1.quantity"
    )
    assert unrepresentable_number({"total": MAX_EXACT_INTEGER + 1}) == "total"
    assert unrepresentable_number({"x": {"y": math.inf}}) == "x.y"
    assert unrepresentable_number([math.nan]) == "0"
    assert unrepresentable_number(-(2**64)) == "<root>"
