"""Errors of aid requests, each with its own problem `type` (and its status through the
shared hierarchy), so an integrator can tell them apart without parsing `detail`."""

from __future__ import annotations

from shared.errors import Conflict, InvalidTransition, NotFound, Unprocessable


class AidRequestNotFound(NotFound):
    """No such request, or not one this principal may see or move on (never revealed)."""

    problem_type = "aid-request-not-found"
    title = "No such aid request"


class RequestTransitionNotAllowed(InvalidTransition):
    """The request's status does not allow this change (`current_status`, `allowed_from`)."""

    problem_type = "aid-request-transition-not-allowed"
    title = "The aid request's status does not allow this change"


class LinkTargetEnded(Conflict):
    """Linking into a cluster whose request or root ended: the duplicate would wait for ever."""

    problem_type = "link-target-ended"
    title = "The request to link to (or its cluster's root) has ended"


class NothingDelivered(Unprocessable):
    problem_type = "nothing-delivered"
    title = "Name the items delivered, or set final to end delivery"


class UnknownDeliveryItems(Unprocessable):
    """Items the request does not list (`allowed` names those it does)."""

    problem_type = "unknown-delivery-items"
    title = "The delivery names items the request does not list"
