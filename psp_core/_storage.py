"""The storage format: a versioned JSON form of :class:`Payment`, :class:`Mandate` and
:class:`WebhookEvent`, for a host to store what psp returned and load it back unchanged.

A document is one JSON object::

    {"psp_storage": 1, "type": "payment", "data": {...the fields...}}

``psp_storage`` is the schema version (:data:`STORAGE_VERSION`). In ``data`` every field of
the model appears under its Python name; amounts are ``{"minor": <int>, "currency": "USD"}``
(integer minor units, never a float), enums are their string values, timestamps ISO 8601
strings (with their UTC offset when they have one), absent values ``null``, operations a list.

Compatibility rules, kept by the tests (``tests/core/test_storage.py``):

- this psp reads every document an older psp wrote: a field added later takes its default;
- a change an older document cannot be read under (a renamed, removed or re-typed field)
  bumps :data:`STORAGE_VERSION`, and reading keeps a converter for every older version;
- a document from a *newer* psp (a higher version, or a field this psp does not know) is
  refused with a :class:`ValidationError` saying to upgrade psp, rather than read with a
  field dropped.

Built on a cattrs converter with strict primitives: ``"12"`` is not an int here and ``12``
not a string, so a hand-edited or corrupted document fails with the field's path instead of
loading something else.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

from ._errors import ValidationError
from ._models import Mandate, Payment, WebhookEvent
from ._money import Money

if TYPE_CHECKING:
    import cattrs

STORAGE_VERSION: Final = 1
"""The version this psp writes. Version 1 is the first; see the module docs for the rules."""

VERSION_KEY: Final = "psp_storage"

_TYPE_NAMES: Final[dict[type[Any], str]] = {
    Payment: "payment",
    Mandate: "mandate",
    WebhookEvent: "webhook_event",
}

Stored = TypeVar("Stored", Payment, Mandate, WebhookEvent)


def _strict(kind: type[Any]) -> Any:
    def structure(value: Any, _: Any) -> Any:
        # bool is an int subclass, and cattrs' default would turn 12 into "12": refuse both.
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
        return value

    return structure


def _structure_money(value: Any, _: Any) -> Money:
    if not isinstance(value, dict) or set(value) != {"minor", "currency"}:
        raise TypeError(f'expected {{"minor": <int>, "currency": "<ISO 4217>"}}, got {value!r}')
    return Money(value["minor"], value["currency"])


def _structure_datetime(value: Any, _: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 timestamp string, got {type(value).__name__} {value!r}")
    return datetime.fromisoformat(value)


def _describe(error: BaseException, kind: type[Any] | None) -> str:
    # The hooks' and the models' own messages say what is wrong; cattrs' generic wording
    # ("invalid value") does not. Missing and extra keys keep cattrs' wording.
    if isinstance(error, TypeError | ValueError) and str(error):
        return str(error)
    from cattrs.v import format_exception

    return format_exception(error, kind)


def storage_converter() -> cattrs.Converter:
    """A new cattrs converter with the storage form's rules: amounts as ``{"minor", "currency"}``,
    timestamps ISO 8601, enums as their values, strict ``str``/``int``/``bool`` and no unknown keys.

    :func:`to_json` uses one; a package that keeps other psp values (the store's journal keeps
    write requests) builds its own from this, so both forms follow the same rules.
    """
    import cattrs  # on first use: importing and building a converter would slow every start-up

    converter = cattrs.Converter(forbid_extra_keys=True)
    for kind in (str, int, bool):
        converter.register_structure_hook(kind, _strict(kind))
    converter.register_unstructure_hook(
        Money, lambda money: {"minor": money.minor, "currency": money.currency}
    )
    converter.register_structure_hook(Money, _structure_money)
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    converter.register_structure_hook(datetime, _structure_datetime)
    return converter


class _Storage:
    """The converters by schema version; only version 1 exists so far."""

    def __init__(self) -> None:
        self.converters: dict[int, cattrs.Converter] = {1: storage_converter()}

    def dump(self, value: Payment | Mandate | WebhookEvent) -> dict[str, Any]:
        type_name = _TYPE_NAMES.get(type(value))
        if type_name is None:
            known = ", ".join(cls.__name__ for cls in _TYPE_NAMES)
            raise TypeError(f"to_json stores a {known}, not a {type(value).__name__}")
        data = self.converters[STORAGE_VERSION].unstructure(value)
        return {VERSION_KEY: STORAGE_VERSION, "type": type_name, "data": data}

    def load(self, document: object, kind: type[Stored]) -> Stored:
        if not isinstance(document, dict):
            raise ValidationError("document", f"must be a JSON object, got {type(document).__name__}")
        version = document.get(VERSION_KEY)
        if type(version) is not int or version < 1:
            raise ValidationError(
                VERSION_KEY, f"must be a schema version number, got {version!r}; is this a psp document?"
            )
        if version > STORAGE_VERSION:
            raise ValidationError(
                VERSION_KEY,
                f"version {version} was written by a newer psp than this one (reads up to "
                f"{STORAGE_VERSION}); upgrade psp to read it",
            )
        wanted = _TYPE_NAMES[kind]
        if document.get("type") != wanted:
            raise ValidationError("type", f"is {document.get('type')!r}, expected {wanted!r}")
        extra = set(document) - {VERSION_KEY, "type", "data"}
        if extra:
            raise ValidationError(
                "document", f"has keys this psp does not know: {sorted(extra)}; upgrade psp to read it"
            )
        import cattrs

        try:
            loaded: Stored = self.converters[version].structure(document.get("data"), kind)
        except cattrs.BaseValidationError as error:
            problems = cattrs.transform_error(error, path="data", format_exception=_describe)
            advice = (
                "a newer psp wrote it: upgrade psp to read it"
                if any("extra fields" in problem for problem in problems)
                else "was it edited by hand, or written by something other than psp_core.to_json?"
            )
            raise ValidationError(
                "data",
                f"is not a valid {kind.__name__} of storage version {version}: "
                f"{'; '.join(problems)}; {advice}",
            ) from None
        except (TypeError, ValueError) as error:
            # Raised by a model's own validators (totals, currencies) on a well-formed document.
            raise ValidationError("data", f"is not a valid {kind.__name__}: {error}") from None
        return loaded


@functools.cache
def _storage() -> _Storage:
    return _Storage()


def to_json(value: Payment | Mandate | WebhookEvent, *, indent: int | None = None) -> str:
    """The versioned JSON document of ``value``; :func:`from_json` reads it back unchanged.

    Keys are sorted, so the same value always gives the same text.
    """
    return json.dumps(_storage().dump(value), sort_keys=True, indent=indent, ensure_ascii=False)


def from_json(document: str | bytes, kind: type[Stored]) -> Stored:
    """Load a :class:`Payment`, :class:`Mandate` or :class:`WebhookEvent` that :func:`to_json` wrote.

    ``kind`` is the class expected, so the type checker knows what comes back and a document
    of another type is refused. Raises :class:`ValidationError` naming what is wrong (not JSON,
    another type, a newer version, a field that is missing or of the wrong type).
    """
    if _TYPE_NAMES.get(kind) is None:
        known = ", ".join(cls.__name__ for cls in _TYPE_NAMES)
        raise TypeError(f"from_json loads a {known}, not {kind!r}")
    try:
        parsed: object = json.loads(document)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValidationError("document", f"is not JSON: {error}") from None
    return _storage().load(parsed, kind)
