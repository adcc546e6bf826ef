"""PPRO's optional fields read with a hook looked up once, held to cattrs' own Optional rule.

``psp_ppro._wire`` structures ``X | None`` with the inner type's hook found when the model's
hook is built rather than on every value (issue 18). For any charge answer whose optional
fields are dropped, null, well-typed or wrong-typed, it must read exactly what a converter
using cattrs' own Optional handling reads, and refuse exactly what that one refuses.
"""

from __future__ import annotations

from typing import Any

import attrs
import cattrs
from hypothesis import given
from hypothesis import strategies as st

from psp_ppro import _wire

CHARGE: dict[str, Any] = {
    "id": "charge_1",
    "paymentMethod": "AMAZON_PAY",
    "currency": "USD",
    "status": "CAPTURE_PENDING",
    "createdAt": "2026-12-02T08:31:22.416Z",
    "consumer": {
        "country": "US",
        "name": "John Smith",
        "email": "buyer@example.com",
        "billingAddress": {"firstName": "Sandbox", "city": "Seattle", "country": "US"},
    },
    "authorizations": [{"id": "authz_1", "amount": 1000, "status": "AUTHORIZED"}],
    "captures": [],
    "order": {"shippingAddress": {"street": "410 Terry Ave N", "postalCode": "98109"}},
}
# (path to an optional field's parent, field name)
OPTIONAL = [
    ((), "paymentMethod"),
    ((), "currency"),
    ((), "createdAt"),
    ((), "consumer"),
    ((), "order"),
    (("consumer",), "name"),
    (("consumer",), "email"),
    (("consumer",), "billingAddress"),
    (("consumer", "billingAddress"), "firstName"),
    (("order",), "shippingAddress"),
    (("order", "shippingAddress"), "postalCode"),
]
values = st.one_of(
    st.just("drop"),
    st.none(),
    st.text(max_size=5),
    st.integers(-3, 3),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["country", "city", "x"]), st.text(max_size=3), max_size=2),
)


def stock_converter() -> cattrs.Converter:
    """The wire converter as it was before: cattrs' own Optional hook."""
    converter = cattrs.Converter(forbid_extra_keys=False)
    for kind in (int, str, bool):
        converter.register_structure_hook(kind, _wire._strict(kind))
    converter.register_structure_hook_factory(attrs.has, lambda cls: _wire._object_only(cls, converter))
    return converter


def read(converter: cattrs.Converter, raw: dict[str, Any]) -> tuple[str, object]:
    try:
        return "read", converter.structure(raw, _wire.Charge)
    except Exception as error:  # the kind of refusal is what must agree
        return "refused", type(error)


STOCK = stock_converter()


@given(changes=st.lists(st.tuples(st.sampled_from(OPTIONAL), values), max_size=4))
def test_optional_fields_read_and_refuse_as_cattrs_own_rule(
    changes: list[tuple[tuple[tuple[str, ...], str], object]],
) -> None:
    raw = _copy(CHARGE)
    for (path, name), value in changes:
        parent: Any = raw
        for step in path:
            parent = parent.get(step) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        if value == "drop":
            parent.pop(name, None)
        else:
            parent[name] = value
    assert read(_wire._CONVERTER, raw) == read(STOCK, raw)


def test_a_wrong_typed_optional_field_is_refused_and_a_null_one_read_as_none() -> None:
    assert read(_wire._CONVERTER, {**CHARGE, "currency": 840})[0] == "refused"
    kind, charge = read(_wire._CONVERTER, {**CHARGE, "currency": None, "consumer": None})
    assert kind == "read"
    assert isinstance(charge, _wire.Charge) and charge.currency is None and charge.consumer is None


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
