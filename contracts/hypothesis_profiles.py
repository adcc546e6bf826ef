"""The hypothesis profiles of psp's test suites: ``ci`` (default) and ``thorough``.

``ci`` keeps runs bounded on a small machine, with no deadline so a loaded CI runner cannot
flake; ``thorough`` is for deep runs (``HYPOTHESIS_PROFILE=thorough`` or
``psp contract --profile thorough``). Failing examples print a reproduction blob.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


def register() -> None:
    settings.register_profile(
        "ci", max_examples=40, deadline=None, suppress_health_check=_SUPPRESSED, print_blob=True
    )
    settings.register_profile(
        "thorough", max_examples=2_000, deadline=None, suppress_health_check=_SUPPRESSED, print_blob=True
    )
    settings.register_profile("dev", max_examples=10, deadline=None, print_blob=True)
