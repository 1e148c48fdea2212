"""Errors of the notification domain."""

from __future__ import annotations

from shared.errors import Conflict, InvalidTransition, Unprocessable


class NotificationCancelledError(Conflict):
    problem_type = "notification-cancelled"
    title = "The notification was cancelled and can no longer change"


class AlreadyAcknowledged(InvalidTransition):
    problem_type = "notification-already-acknowledged"
    title = "The notification was already acknowledged"


class NoEscortRequested(Conflict):
    problem_type = "escort-not-requested"
    title = "No escort was requested, or it was already decided"


class InvalidNotification(Unprocessable):
    problem_type = "notification-invalid"
    title = "The notification cannot be accepted"
