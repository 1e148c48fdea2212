"""Concord's Humanitarian requests service."""
