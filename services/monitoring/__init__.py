"""Concord's Monitoring service."""
