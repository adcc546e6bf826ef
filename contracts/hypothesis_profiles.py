"""The hypothesis settings of the contract suite: ``ci`` (default) and ``thorough``.

The suite chooses between them with its own option (``--psp-profile``, or
``psp contract --profile``) and applies them to its own tests only, as explicit settings:
it registers and loads no profile, so a host's hypothesis profile is never touched, whatever
the environment says. ``ci`` keeps runs bounded on a small machine and has no deadline, so a
loaded runner cannot fail a check on time alone; ``thorough`` is for deep runs. Failing
examples print a reproduction blob.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings

DEFAULT_PROFILE = "ci"

# The contract checks drive a whole sandbox per example: slow by design, and they share the
# function-scoped ``contract`` fixture across examples on purpose (one sandbox per check).
_SUPPRESSED = (HealthCheck.too_slow, HealthCheck.function_scoped_fixture)

PROFILES: dict[str, dict[str, Any]] = {
    "ci": {"max_examples": 40, "deadline": None, "suppress_health_check": _SUPPRESSED, "print_blob": True},
    "thorough": {
        "max_examples": 2_000,
        "deadline": None,
        "suppress_health_check": _SUPPRESSED,
        "print_blob": True,
    },
}


def suite_settings(profile: str = DEFAULT_PROFILE) -> settings:
    """The settings the suite's checks run with under ``profile``.

    Built on the settings in force (so a caller's database, verbosity or derandomization still
    apply) with the profile's budget, no deadline and the suite's health-check exceptions.
    """
    try:
        chosen = PROFILES[profile]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown contract suite profile {profile!r}; choose one of: {known}") from None
    return settings(**chosen)
