"""The character rules for sent text, stated character by character.

The core decides them on the whole string at once (``str.isascii`` / ``str.isprintable`` in
C, issue 18); these specs hold it to the per-character definitions: a text is refused when any
character is a control (Cc), format (Cf), surrogate (Cs) or line/paragraph separator (Zl, Zp),
and a URL also when any character is whitespace or not printable.
"""

from __future__ import annotations

import unicodedata

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from psp_core import (
    AuthorizeRequest,
    Capabilities,
    CaptureMode,
    Consumer,
    Money,
    ValidationError,
)
from psp_core._capabilities import check_authorize

CAPS = Capabilities(
    currencies=frozenset({"EUR"}),
    countries=frozenset({"DE"}),
    capture_modes=frozenset({CaptureMode.AUTOMATIC}),
)
REQUEST = AuthorizeRequest(
    amount=Money(1_000, "EUR"),
    consumer=Consumer(country="DE", name="Erika Mustermann"),
    return_url="https://shop.example/return",
    merchant_reference="order-1",
)
UNSENDABLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# The characters at the edges of the rules: ASCII controls and DEL, the one printable
# whitespace (space), Unicode whitespace that is Cc (NEL) or Zs (NBSP), the separators, a
# zero-width and a bidi mark, a lone surrogate, and ordinary non-ASCII letters.
EDGES = "\x00\t\n\x1f \x7f\x85\xa0\u2028\u2029\u200b\u202e\ud800éß中"
texts = st.text(st.characters(codec=None, min_codepoint=0), max_size=12) | st.text(
    st.sampled_from(EDGES + "ab-1"), max_size=6
)


def refused_field(**changes: object) -> str | None:
    try:
        check_authorize(attrs.evolve(REQUEST, **changes), CAPS)
    except ValidationError as error:
        return error.field
    return None


def unsendable(text: str) -> bool:
    return any(unicodedata.category(char) in UNSENDABLE for char in text)


@pytest.mark.parametrize("char", EDGES)
def test_each_edge_character_in_a_description_is_judged_by_its_category(char: str) -> None:
    expected = "description" if unicodedata.category(char) in UNSENDABLE else None
    assert refused_field(description=f"a{char}b") == expected


@given(text=texts)
@example(text="plain ascii text")
@example(text="Grüße aus Köln")
def test_a_description_is_refused_exactly_when_a_character_is_unsendable(text: str) -> None:
    assert refused_field(description="d" + text) == ("description" if unsendable(text) else None)


@given(text=texts)
@example(text="a b")
@example(text="caf\xe9")
def test_a_url_is_refused_exactly_when_a_character_is_whitespace_or_unprintable(text: str) -> None:
    bad = unsendable(text) or any(char.isspace() or not char.isprintable() for char in text)
    assert refused_field(return_url="https://shop.example/return/" + text) == ("return_url" if bad else None)
