"""The synthetic demo city and simulated survey panels.

Public names (the only ones other modules may use): :class:`SyntheticCity`, :func:`synthesize` (called
by the ``synthetic`` source) and :func:`simulate_panel` (called by the survey code for real cities that
have crowd scores but no individual-level votes). The latent factors and the panel's weights live in
the private modules here; an isolation test fails if anything else imports them.
"""

from perceptops.data.simulate._api import SyntheticCity, simulate_panel, synthesize

__all__ = ["SyntheticCity", "simulate_panel", "synthesize"]
