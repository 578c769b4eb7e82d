"""Evidently drift reports for new cities."""
