"""Frozen image/text encoders and the embedding cache."""
