"""Concord's NGO registry service."""
