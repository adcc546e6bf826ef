"""PPRO-style identifiers: ``<prefix>_`` followed by 21 alphanumeric characters."""

from __future__ import annotations

import random
import string

_ALPHABET = string.ascii_letters + string.digits
ID_SUFFIX_LENGTH = 21


class IdFactory:
    """Generates ids from its own RNG so a seeded sandbox produces the same ids every run."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def suffix(self) -> str:
        return "".join(self._rng.choice(_ALPHABET) for _ in range(ID_SUFFIX_LENGTH))

    def new(self, prefix: str) -> str:
        return f"{prefix}_{self.suffix()}"
