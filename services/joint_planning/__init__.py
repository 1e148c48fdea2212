"""Concord's Joint planning service."""
