"""Batch scoring of a city and per-group safety maps."""
