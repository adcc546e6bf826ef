"""The reconciler: settles every journal entry a crash or a lost answer left open.

An entry is open when its write's intent was committed but its outcome never was: the process
died, the database went away after the answer, or the provider gave no definitive answer. The
reconciler settles the ones older than a grace period (younger ones may still be in flight in a
live process), each by the safest question the provider can answer:

- ``authorize`` and ``charge_mandate`` make a payment: the reconciler *finds* it by the entry's
  merchant reference. Found: stored, SUCCEEDED. Not found: the call never took effect,
  NOT_FOUND. It never sends them again, so it can never make a second payment, even after the
  provider forgot the idempotency key.
- ``capture``, ``void``, ``refund``, ``create_mandate`` and ``revoke_mandate`` are *replayed*
  with the entry's request and idempotency key: a provider that replays (PPRO does) answers
  with the first answer when the first request arrived, and otherwise does it now, once. A
  refusal proves the first never took effect (its success would have been replayed): FAILED,
  with a fresh read stored. With ``replay=False`` (a provider without replays), or for an entry
  older than ``replay_window_s`` (the provider may have forgotten the key), the payment or
  mandate is read and stored instead: READ.

Several reconcilers may run at once: each claims a batch of entries for ``lease_s`` seconds
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock on SQLite), and writes an outcome only
while the entry is still open and still its own. Running it again settles nothing twice.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Mapping

import attrs

from psp_core import (
    Gateway,
    IdempotencyConflictError,
    Mandate,
    Payment,
    ProviderError,
    PspError,
    TransportError,
    ValidationError,
)

from ._errors import StoreError
from ._store import JournalEntry, JournalOutcome, SettledBy, Store

log = logging.getLogger("psp.store")

Progress = Callable[[int, int], None]
"""Called after each entry with (entries done, entries to do)."""


@attrs.frozen
class ReconcileReport:
    """What one run did: how many entries it settled, by outcome, and which it could not."""

    settled: Mapping[str, int]
    """Entries settled, by :class:`JournalOutcome` value."""
    left_open: tuple[str, ...]
    """One line per entry that stays open (the provider or the database did not answer)."""

    @property
    def total_settled(self) -> int:
        return sum(self.settled.values())


def _settle(
    entry: JournalEntry, gateway: Gateway, replay: bool
) -> tuple[JournalOutcome, Payment | Mandate | None, str]:
    """``replay``: the provider still remembers the entry's key (see ``replay_window_s``)."""
    request = entry.request()
    if entry.call in ("authorize", "charge_mandate"):
        if entry.merchant_reference is None:  # every payment-making request carries one
            raise ValidationError(
                "merchant_reference", f"journal entry {entry.id} has none to find the payment by"
            )
        found = gateway.find_payment(entry.merchant_reference)
        if found is None:
            return (
                JournalOutcome.NOT_FOUND,
                None,
                f"no payment has merchant reference {entry.merchant_reference!r}",
            )
        return JournalOutcome.SUCCEEDED, found, "found by its merchant reference"
    if replay or entry.call == "create_mandate":  # a mandate cannot be found by reference: replay only
        try:
            answer: Payment | Mandate = getattr(gateway, entry.call)(request)
        except IdempotencyConflictError:
            pass  # the key's first use is still in flight at the provider: read instead
        except (ProviderError, ValidationError) as refused:
            return JournalOutcome.FAILED, _read(entry, gateway), f"the replay was refused: {refused}"
        else:
            return JournalOutcome.SUCCEEDED, answer, "replayed with its idempotency key"
    return JournalOutcome.READ, _read(entry, gateway), "read from the provider"


def _read(entry: JournalEntry, gateway: Gateway) -> Payment | Mandate | None:
    if entry.resource is None:
        return None
    if entry.call in ("revoke_mandate", "charge_mandate", "create_mandate"):
        return gateway.get_mandate(entry.resource)
    return gateway.get_payment(entry.resource)


def reconcile(
    store: Store,
    gateways: Gateway | Mapping[str, Gateway],
    *,
    grace_s: float = 60.0,
    replay: bool = True,
    lease_s: float = 300.0,
    batch: int = 50,
    progress: Progress | None = None,
    replay_window_s: float = 23 * 3600,
) -> ReconcileReport:
    """Settle the open journal entries older than ``grace_s`` seconds, of the gateways' providers.

    ``gateways`` is one gateway or a mapping from provider name to gateway; entries of other
    providers are left for a run that has theirs. An entry the provider cannot be asked about now
    (a :class:`~psp_core.TransportError`, the database away) stays open and is listed in the
    report; a later run retries it once its claim (``lease_s``) has run out. An entry older than
    ``replay_window_s`` is read, not replayed: the provider may have forgotten its key (PPRO keeps
    keys 24 hours), and a forgotten key would make a replayed capture or refund a second one.
    """
    for field, value in (("grace_s", grace_s), ("lease_s", lease_s), ("replay_window_s", replay_window_s)):
        # NaN compares false with every timestamp, and a negative grace would claim calls still in flight.
        if not math.isfinite(value) or value < 0:
            raise ValidationError(field, f"must be a finite number of seconds, 0 or more; got {value!r}")
    if batch < 1:
        raise ValidationError("batch", f"must be 1 or more entries per claim; got {batch!r}")
    by_provider = {gateways.provider: gateways} if isinstance(gateways, Gateway) else dict(gateways)
    providers = frozenset(by_provider)
    owner = f"reconciler-{uuid.uuid4().hex[:16]}"
    older_than = store.clock() - grace_s
    total = store._count_open(providers, older_than)
    settled: dict[str, int] = {}
    left_open: list[str] = []
    done = 0
    after_id = 0
    while True:
        claimed = store._claim(owner, providers, older_than, after_id, batch, lease_s)
        if not claimed:
            break
        for entry in claimed:
            after_id = entry.id
            where = f"journal entry {entry.id} ({entry.provider} {entry.call}, key {entry.idempotency_key})"
            try:
                remembered = replay and (store.clock() - entry.created_at.timestamp()) < replay_window_s
                outcome, result, detail = _settle(entry, by_provider[entry.provider], remembered)
                store._close_entry(entry.id, result, outcome, detail, SettledBy.RECONCILER, claimed_by=owner)
            except (TransportError, StoreError) as error:
                left_open.append(f"{where}: {error}")
                log.warning("%s stays open: %s", where, error)
            except PspError as error:
                # A request the journal holds that this psp refuses (e.g. a corrupt row) stays
                # open for a person to look at; the run goes on with the others.
                left_open.append(f"{where}: {error}")
                log.error("%s stays open: %s", where, error)
            else:
                settled[outcome.value] = settled.get(outcome.value, 0) + 1
            done += 1
            if progress is not None:
                progress(done, max(total, done))
    return ReconcileReport(settled=dict(sorted(settled.items())), left_open=tuple(left_open))
