"""Errors of offers: the four ways an answer can come too late are four problem types, so an
NGO's system can branch on `offer-expired` versus `offer-already-answered`."""

from __future__ import annotations

from shared.errors import Conflict, InvalidTransition, NotFound


class OfferNotFound(NotFound):
    """No such offer, or another NGO's (which answers exactly like a missing one)."""

    problem_type = "offer-not-found"
    title = "No such offer"


class OfferAlreadyAnswered(Conflict):
    """Accepted, declined, expired or withdrawn already (`offer_status` says which)."""

    problem_type = "offer-already-answered"
    title = "The offer can no longer be answered"


class OfferLapsed(Conflict):
    """Still pending, but its response deadline (`respond_by`) has passed."""

    problem_type = "offer-expired"
    title = "The offer's response deadline has passed"


class OfferSuperseded(Conflict):
    """The request moved on (offered to another NGO, or no longer offered at all)."""

    problem_type = "offer-superseded"
    title = "The request is no longer offered to you"


class RequestNotOffered(InvalidTransition):
    """An answer or an expiry for a request that is not in `offered`."""

    problem_type = "request-not-offered"
    title = "The request is not offered"


ANSWER_CONFLICTS = (OfferAlreadyAnswered, OfferLapsed, OfferSuperseded)
"""What answering an offer may meet (the request's status is checked before the answer, so
`RequestNotOffered` only guards the sweeper's expiry)."""
