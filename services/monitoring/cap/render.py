"""SLA and security alerts as OASIS CAP 1.2 messages (Common Alerting Protocol).

One CAP message per event: an SLA alert's warning, breach or clearing
(`concord.monitoring.sla.*`) or an incident's report or update
(`concord.humanitarian_requests.incident.*`). The first message about an alert or incident is
an `Alert`; each later one an `Update` (or a `Cancel` when the alert cleared or the incident
was linked as a duplicate) whose `references` name every earlier message about it, as
`sender,identifier,sent`. The identifier is the CloudEvent id, so the same event always
gives the same message. Every message has scope `Restricted`: it is for mission staff.

Element order follows the sequence the CAP 1.2 schema defines; times are UTC without
fractions (`2026-11-28T10:15:00+00:00`), the only form the schema's pattern accepts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from xml.etree import ElementTree

from shared.events.schemas import humanitarian_requests as hr
from shared.events.schemas import monitoring as sla
from shared.gazetteer import gazetteer
from shared.vocabulary import Sensitivity, Urgency

CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_CONTENT_TYPE = "application/cap+xml"
RESTRICTION = (
    "Mission staff (operations centres, mission administration) only; not for NGOs or the "
    "public. Restricted incident details only for roles cleared to see them."
)
SENDER_NAME = "Concord monitoring"


class CapKind(StrEnum):
    sla = "sla"
    security = "security"


class MsgType(StrEnum):
    alert = "Alert"
    update = "Update"
    cancel = "Cancel"


@dataclass(frozen=True)
class Sent:
    """An earlier message, as a later one references it."""

    event_id: uuid.UUID
    sent: datetime

    def reference(self, sender: str) -> str:
        return f"{sender},{identifier(self.event_id)},{cap_time(self.sent)}"


@dataclass(frozen=True)
class AlertEvent:
    """One audited event of an SLA alert or an incident, and the messages before it."""

    event_id: uuid.UUID
    event_type: str
    subject: str
    sent: datetime
    data: dict[str, Any]
    earlier: tuple[Sent, ...] = ()

    @property
    def kind(self) -> CapKind:
        return (
            CapKind.sla
            if self.event_type.startswith("concord.monitoring.sla.")
            else (CapKind.security)
        )


def identifier(event_id: uuid.UUID) -> str:
    return f"urn:uuid:{event_id}"


def cap_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def message_type(event: AlertEvent) -> MsgType:
    if not event.earlier:
        return MsgType.alert
    if event.kind is CapKind.sla:
        cleared = event.data.get("level") == sla.AlertLevel.cleared
        return MsgType.cancel if cleared else MsgType.update
    return MsgType.cancel if event.data.get("duplicate_of") else MsgType.update


def render(event: AlertEvent, *, sender: str, may_see_restricted: bool) -> bytes:
    """The CAP 1.2 XML of one event."""
    msg_type = message_type(event)
    alert = _element("alert")
    _add(alert, "identifier", identifier(event.event_id))
    _add(alert, "sender", sender)
    _add(alert, "sent", cap_time(event.sent))
    _add(alert, "status", "Actual")
    _add(alert, "msgType", msg_type.value)
    _add(alert, "source", SENDER_NAME)
    _add(alert, "scope", "Restricted")
    _add(alert, "restriction", RESTRICTION)
    if event.kind is CapKind.sla:
        state = sla.SlaAlertState.model_validate(event.data)
        note = _sla_note(state) if msg_type is MsgType.cancel else None
        incident_ids = str(state.request_id)
    else:
        incident = hr.IncidentState.model_validate(event.data)
        note = (
            f"Linked as a duplicate of incident {incident.duplicate_of}"
            if msg_type is MsgType.cancel
            else None
        )
        incident_ids = str(incident.incident_id)
    if note:
        _add(alert, "note", note)
    if event.earlier:
        _add(alert, "references", " ".join(e.reference(sender) for e in event.earlier))
    _add(alert, "incidents", incident_ids)
    if event.kind is CapKind.sla:
        _sla_info(alert, state, event, msg_type, may_see_restricted=may_see_restricted)
    else:
        _incident_info(alert, incident, event, msg_type, may_see_restricted=may_see_restricted)
    body: bytes = ElementTree.tostring(
        alert, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NAMESPACE
    )
    return body


def _sla_note(state: sla.SlaAlertState) -> str:
    return f"Cleared: {state.resolution or 'the stage was reached'}"


def _sla_info(
    alert: ElementTree.Element,
    state: sla.SlaAlertState,
    event: AlertEvent,
    msg_type: MsgType,
    *,
    may_see_restricted: bool,
) -> None:
    stage, level = state.stage.value, state.level.value
    # An alert on a restricted request is placed in its state only, as the request is.
    withheld = state.sensitivity is Sensitivity.restricted and not may_see_restricted
    pcode = gazetteer().admin1(state.pcode) if withheld and state.pcode else state.pcode
    life = state.urgency is Urgency.life_threatening
    if state.level is sla.AlertLevel.cleared:
        urgency, severity, response = "Past", "Minor", "AllClear"
    elif state.level is sla.AlertLevel.breach:
        urgency, response = "Immediate", "Execute"
        severity = "Severe" if life or state.escalation_level >= 2 else "Moderate"
    else:
        urgency, response = "Expected", "Monitor"
        severity = "Moderate" if life else "Minor"
    area = _area_name(pcode)
    info = _add(alert, "info")
    _add(info, "language", "en")
    _add(info, "category", "Other")
    _add(info, "event", f"Aid request response time ({stage} stage)")
    _add(info, "responseType", response)
    _add(info, "urgency", urgency)
    _add(info, "severity", severity)
    _add(info, "certainty", "Observed")
    _event_code(info, event.event_type)
    _add(info, "effective", cap_time(state.raised_at))
    _add(info, "senderName", SENDER_NAME)
    sector = state.sector.value if state.sector else "unknown sector"
    _add(info, "headline", f"SLA {level}: {state.urgency.value} {sector} request, {stage}, {area}")
    instruction = None
    if state.level is sla.AlertLevel.cleared:
        description = f"Request {state.request_id}: {_sla_note(state)}."
    else:
        description = (
            f"Request {state.request_id} ({state.urgency.value}, {sector}) has not reached "
            f"its {stage} stage, due at {cap_time(state.due_at)}; escalation level "
            f"{state.escalation_level}."
        )
        if state.escalate_to:
            instruction = f"To act now: {', '.join(state.escalate_to)}"
    _add(info, "description", description)
    if instruction:
        _add(info, "instruction", instruction)
    _parameter(info, "request_id", str(state.request_id))
    _parameter(info, "stage", stage)
    _parameter(info, "escalation_level", str(state.escalation_level))
    _parameter(info, "escalate_to", " ".join(state.escalate_to))
    _parameter(info, "sensitivity", state.sensitivity.value)
    _area(info, area, pcode, point=None)


INCIDENT_CATEGORIES = {
    hr.IncidentType.disease_outbreak: "Health",
    hr.IncidentType.explosive_hazard: "Safety",
}
CAP_SEVERITIES = {
    hr.Severity.critical: "Extreme",
    hr.Severity.high: "Severe",
    hr.Severity.moderate: "Moderate",
    hr.Severity.low: "Minor",
}


def _incident_info(
    alert: ElementTree.Element,
    incident: hr.IncidentState,
    event: AlertEvent,
    msg_type: MsgType,
    *,
    may_see_restricted: bool,
) -> None:
    withheld = incident.sensitivity is Sensitivity.restricted and not may_see_restricted
    # A withheld incident is placed only in its state (admin1), as everywhere else.
    pcode = (
        (incident.location.admin1 or incident.location.pcode)
        if withheld
        else (incident.location.pcode)
    )
    area = _area_name(pcode)
    label = incident.incident_type.value.replace("_", " ").capitalize()
    urgent = incident.severity in (hr.Severity.critical, hr.Severity.high)
    info = _add(alert, "info")
    _add(info, "language", "en")
    _add(info, "category", INCIDENT_CATEGORIES.get(incident.incident_type, "Security"))
    _add(info, "event", label)
    _add(info, "responseType", "Monitor" if msg_type is not MsgType.cancel else "None")
    if msg_type is MsgType.cancel:
        _add(info, "urgency", "Past")
    else:
        _add(info, "urgency", "Immediate" if urgent else "Expected")
    _add(info, "severity", CAP_SEVERITIES[incident.severity])
    _add(info, "certainty", "Observed")
    _event_code(info, event.event_type)
    _add(info, "onset", cap_time(incident.occurred_at))
    _add(info, "senderName", SENDER_NAME)
    _add(info, "headline", f"{incident.severity.value.capitalize()} incident: {label}, {area}")
    casualties = incident.casualties
    summary = (
        f"Reported by {incident.reporting_unit} at {cap_time(incident.reported_at)}; "
        f"killed {casualties.killed}, injured {casualties.injured}, "
        f"missing {casualties.missing}."
    )
    if withheld:
        summary += " Details withheld: restricted report."
    elif incident.description:
        summary += f" {incident.description}"
    _add(info, "description", summary)
    _parameter(info, "incident_id", str(incident.incident_id))
    _parameter(info, "sensitivity", incident.sensitivity.value)
    point = None if withheld else (incident.location.lat, incident.location.lon)
    _area(info, area, pcode, point=point)


def _area_name(pcode: str | None) -> str:
    if pcode is None:
        return "mission area (no area recorded)"
    area = gazetteer().get(pcode)
    return f"{area.name} ({pcode})" if area else pcode


def _area(
    info: ElementTree.Element,
    description: str,
    pcode: str | None,
    *,
    point: tuple[float, float] | None,
) -> None:
    area = _add(info, "area")
    _add(area, "areaDesc", description)
    if point is not None:
        _add(area, "circle", f"{point[0]},{point[1]} 0")
    if pcode is not None:
        geocode = _add(area, "geocode")
        _add(geocode, "valueName", "OCHA P-code")
        _add(geocode, "value", pcode)


def _event_code(info: ElementTree.Element, event_type: str) -> None:
    code = _add(info, "eventCode")
    _add(code, "valueName", "concord-event-type")
    _add(code, "value", event_type)


def _parameter(info: ElementTree.Element, name: str, value: str) -> None:
    parameter = _add(info, "parameter")
    _add(parameter, "valueName", name)
    _add(parameter, "value", value)


def _element(name: str) -> ElementTree.Element:
    return ElementTree.Element(f"{{{CAP_NAMESPACE}}}{name}")


def _add(parent: ElementTree.Element, name: str, text: str | None = None) -> ElementTree.Element:
    child = ElementTree.SubElement(parent, f"{{{CAP_NAMESPACE}}}{name}")
    if text is not None:
        child.text = text
    return child
