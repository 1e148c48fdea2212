"""The event backbone: envelope, catalog, outbox relay and inbox consumer."""
