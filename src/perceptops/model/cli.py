"""CLI commands of this concern. Top-level imports: typer/rich/stdlib only (fast start-up)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the root app."""
