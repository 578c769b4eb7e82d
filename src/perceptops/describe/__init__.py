"""Describers (OpenAI-compatible, transformers, built-in scene), prompts and the response cache."""
