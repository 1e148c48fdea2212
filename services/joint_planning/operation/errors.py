"""Errors of the operation domain (each carries its HTTP status through the shared hierarchy)."""

from __future__ import annotations

from shared.errors import Conflict, InvalidTransition, Unprocessable


class IllegalOperationTransition(InvalidTransition):
    problem_type = "operation-invalid-transition"
    title = "The operation cannot move to that status from its current one"


class OperationClosed(Conflict):
    problem_type = "operation-closed"
    title = "The operation is completed or cancelled and can no longer change"


class LeadRequired(Conflict):
    problem_type = "operation-lead-required"
    title = "An operation needs a lead participant before it is planned"


class IneligibleParticipant(Unprocessable):
    problem_type = "participant-not-eligible"
    title = "This NGO may not be an implementing participant of this operation"


class InvalidParticipant(Unprocessable):
    problem_type = "participant-invalid"
    title = "The participant cannot be added"


class ReclassificationRefused(Unprocessable):
    """Unchanged, or below the operation's derived minimum."""

    problem_type = "operation-reclassification-refused"
    title = "The operation's sensitivity cannot be changed to that class"
