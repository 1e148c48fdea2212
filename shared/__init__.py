"""Concord's platform library: what every service stands on.

Settings, database sessions and migrations, the event envelope and catalog, the transactional
outbox and its relay, the idempotent inbox consumer, authentication, problem+json errors,
logging, metrics, and the local stack that `make run` and `make test` start. Services import
`shared`; `shared` never imports a service.
"""
