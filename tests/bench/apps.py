"""App factories the bench starts with uvicorn besides the services' own.

`requests_without_relay`: the requests service with its outbox relay off, so a backlog of
committed events builds up in its outbox (as when Kafka is away) and the real relay of the
next, normal process can be timed draining it. Everything else is the service as it runs.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.humanitarian_requests.app import create_app


def requests_without_relay() -> FastAPI:
    app = create_app()
    app.state.runtime.run_relay = False
    return app
