"""Errors of the data-incident domain (each carries its HTTP status through the shared
hierarchy and its own problem type)."""

from __future__ import annotations

from shared.errors import Conflict, NotFound, Unprocessable


class DataIncidentNotFound(NotFound):
    problem_type = "data-incident-not-found"
    title = "No such data incident"


class DataIncidentStepRefused(Conflict):
    problem_type = "data-incident-step-refused"
    title = "This step does not follow from the data incident's current status"


class UnknownNgos(Unprocessable):
    problem_type = "data-incident-unknown-ngo"
    title = "No NGO with this id is registered"
