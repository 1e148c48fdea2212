"""Prometheus metrics shared by every service (`/metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "concord_http_requests_total",
    "HTTP requests handled",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "concord_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_BACKLOG = Gauge(
    "concord_outbox_backlog", "Outbox rows not yet published to Kafka", ["service"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "concord_outbox_oldest_unpublished_seconds",
    "Age of the oldest outbox row not yet published",
    ["service"],
)
OUTBOX_PUBLISHED = Counter(
    "concord_outbox_published_total", "Events published by the outbox relay", ["service"]
)
CONSUMER_LAG = Gauge(
    "concord_consumer_lag",
    "Messages between the consumer's position and the partition's high watermark",
    ["group", "topic", "partition"],
)
CONSUMER_PROCESSED = Counter(
    "concord_consumer_events_total",
    "Events seen by a consumer, by outcome (applied, duplicate, ignored, dead_lettered)",
    ["group", "outcome"],
)
CONSUMER_TRANSIENT_RETRIES = Counter(
    "concord_consumer_transient_retries_total",
    "Times a consumer waited for the database or broker to come back instead of giving up",
    ["group"],
)
OUTBOX_PARKED = Counter(
    "concord_outbox_parked_total",
    "Outbox rows the relay could never send, parked with their error",
    ["service"],
)
OUTBOX_PARKED_ROWS = Gauge(
    "concord_outbox_parked_rows",
    "Outbox rows parked because Kafka could never take them (each needs a person to look)",
    ["service"],
)
