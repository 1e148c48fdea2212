"""Aid request use cases, one module per concern:

- `intake`: a new request classified and stored for triage (`triage/`);
- `lifecycle`: cancel, priority override, duplicate link, re-match, start, delivery, close;
- `reclassification`: staff change of a request's class, with a reason;
- `reads`: the lists, one request, its history;
- `visibility`: who may see a request and move it on, the view each reads, the access log.

Entry points (the router, the batch intake) call the use cases exported here. Services only
flush; the edge (route or batch item savepoint) owns the transaction.
"""

from services.humanitarian_requests.aid_request.service.intake import (
    Intake,
    Submitted,
    submit,
    submit_request,
)
from services.humanitarian_requests.aid_request.service.lifecycle import (
    cancel,
    close,
    link,
    override_priority,
    record_delivery,
    rematch,
    start,
)
from services.humanitarian_requests.aid_request.service.reads import (
    list_for_principal,
    read_request,
    request_history,
)
from services.humanitarian_requests.aid_request.service.reclassification import reclassify
from services.humanitarian_requests.aid_request.service.visibility import TransitionBy

__all__ = [
    "Intake",
    "Submitted",
    "TransitionBy",
    "cancel",
    "close",
    "link",
    "list_for_principal",
    "override_priority",
    "read_request",
    "reclassify",
    "record_delivery",
    "rematch",
    "request_history",
    "start",
    "submit",
    "submit_request",
]
