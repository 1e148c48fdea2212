"""Errors of the webhook domain (each carries its HTTP status through the shared hierarchy)."""

from __future__ import annotations

from shared.errors import Conflict, NotFound, Unprocessable


class WebhookNotFound(NotFound):
    problem_type = "webhook-not-found"
    title = "No such webhook"


class DeliveryNotFound(NotFound):
    problem_type = "webhook-delivery-not-found"
    title = "No such delivery of this webhook"


class WebhookDisabled(Conflict):
    problem_type = "webhook-disabled"
    title = "This webhook is disabled"


class DeliveryNotDead(Conflict):
    problem_type = "webhook-delivery-not-dead"
    title = "Only a dead delivery can be re-driven"


class UnknownEventTypes(Unprocessable):
    problem_type = "unknown-event-type"
    title = "Not an event type a webhook can receive"


class TooManyWebhooks(Conflict):
    problem_type = "too-many-webhooks"
    title = "This NGO has as many active webhooks as it may"
