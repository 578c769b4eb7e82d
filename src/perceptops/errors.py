"""Errors a user can act on. The CLI prints them as one line (no traceback) and exits non-zero."""


class PerceptopsError(Exception):
    """Base class: the message says what is wrong and what to change."""

    exit_code = 1


class ConfigError(PerceptopsError):
    """params.yaml (or a CLI option) is invalid; the message names the key."""

    exit_code = 2


class DataError(PerceptopsError):
    """Input data is missing or unusable beyond the configured tolerance."""


class BackendError(PerceptopsError):
    """A configured backend (model file, server, optional dependency) is unavailable."""
