"""Normalized statuses and the one table of allowed transitions.

The gateway, the webhook reducer and the contract suite all read this table; a provider
plugin maps its own statuses onto these. Every allowed transition moves to a higher
``rank``, which is what makes the reducer monotonic: whatever order updates arrive in,
a payment only ever moves forward.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class PaymentStatus(enum.Enum):
    """Where a payment stands, in words a shop can act on."""

    # Speed: Enum's own __hash__ is a Python function (hash of the name); members are
    # singletons compared by identity, so the identity hash is equal for equal members and
    # makes every dict and set keyed by them (rank tables, status tables) a C-level lookup.
    __hash__ = object.__hash__

    PENDING = "pending"
    """Created at the provider; nothing is known yet."""
    REQUIRES_ACTION = "requires_action"
    """Waiting for the consumer: follow ``Payment.next_action``."""
    PROCESSING = "processing"
    """The consumer acted; the provider has not confirmed the outcome yet."""
    AUTHORIZED = "authorized"
    """Funds are reserved and await capture."""
    PARTIALLY_CAPTURED = "partially_captured"
    """Some of the authorized amount was captured; the rest may still be captured or voided."""
    CAPTURED = "captured"
    """Everything that will be captured was captured."""
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    """Everything captured was refunded."""
    VOIDED = "voided"
    """The whole authorization was released without capture."""
    DECLINED = "declined"
    """The provider or the consumer's bank refused; see ``Payment.decline``."""
    FAILED = "failed"
    """The payment could not be made for a technical reason, or the consumer cancelled."""
    EXPIRED = "expired"
    """The consumer did not act within the provider's time limit."""
    CHARGED_BACK = "charged_back"
    """Every captured amount not refunded was taken back by chargebacks (some may also have been
    refunded: money returned partly by refunds and partly by chargebacks is CHARGED_BACK, and
    only money returned wholly by refunds is REFUNDED). A partial chargeback is not a status:
    it shows in ``Payment.charged_back`` and the rest stays refundable."""


class MandateStatus(enum.Enum):
    """Where a recurring-payment mandate (agreement) stands."""

    # Speed: Enum's own __hash__ is a Python function (hash of the name); members are
    # singletons compared by identity, so the identity hash is equal for equal members and
    # makes every dict and set keyed by them (rank tables, status tables) a C-level lookup.
    __hash__ = object.__hash__

    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    ACTIVE = "active"
    FAILED = "failed"
    REVOKED = "revoked"


_S = PaymentStatus

# Where a payment that "took no money" goes when the provider reports money movements
# after all: captured money, or the merchant's explicit release of the hold.
_MONEY_REPORTED = frozenset(
    {_S.PARTIALLY_CAPTURED, _S.CAPTURED, _S.PARTIALLY_REFUNDED, _S.REFUNDED, _S.CHARGED_BACK, _S.VOIDED}
)

_PAYMENT_STEPS: Mapping[PaymentStatus, frozenset[PaymentStatus]] = {
    _S.PENDING: frozenset(
        {
            _S.REQUIRES_ACTION,
            _S.PROCESSING,
            _S.AUTHORIZED,
            _S.PARTIALLY_CAPTURED,
            _S.CAPTURED,
            _S.DECLINED,
            _S.FAILED,
            _S.EXPIRED,
        }
    ),
    _S.REQUIRES_ACTION: frozenset(
        {
            _S.PROCESSING,
            _S.AUTHORIZED,
            _S.PARTIALLY_CAPTURED,
            _S.CAPTURED,
            _S.DECLINED,
            _S.FAILED,
            _S.EXPIRED,
        }
    ),
    _S.PROCESSING: frozenset(
        {_S.AUTHORIZED, _S.PARTIALLY_CAPTURED, _S.CAPTURED, _S.DECLINED, _S.FAILED, _S.EXPIRED}
    ),
    # The provider may still drop an authorization it granted (it discards it, a scheme
    # fails it late): the hold is gone, so DECLINED/FAILED/EXPIRED follow AUTHORIZED.
    _S.AUTHORIZED: frozenset(
        {_S.PARTIALLY_CAPTURED, _S.CAPTURED, _S.VOIDED, _S.DECLINED, _S.FAILED, _S.EXPIRED}
    ),
    _S.PARTIALLY_CAPTURED: frozenset({_S.CAPTURED, _S.PARTIALLY_REFUNDED, _S.REFUNDED, _S.CHARGED_BACK}),
    _S.CAPTURED: frozenset({_S.PARTIALLY_REFUNDED, _S.REFUNDED, _S.CHARGED_BACK}),
    _S.PARTIALLY_REFUNDED: frozenset({_S.REFUNDED, _S.CHARGED_BACK}),
    _S.REFUNDED: frozenset(),
    _S.VOIDED: frozenset(),
    _S.CHARGED_BACK: frozenset(),
    # Final for a payment that took no money. Some schemes report a success after a failure;
    # once the provider reports money captured (or a hold released), hiding it behind a
    # failed status would lose it, so those statuses are the only way out.
    # Two no-money outcomes reported for one payment differ only in wording; so that every
    # order of the same reports ends alike, the more specific word wins: a failure may be
    # refined to an expiry or a decline, an expiry to a decline, never the other way.
    _S.FAILED: _MONEY_REPORTED | {_S.EXPIRED, _S.DECLINED},
    _S.EXPIRED: _MONEY_REPORTED | {_S.DECLINED},
    _S.DECLINED: _MONEY_REPORTED,
}


def _closure(
    steps: Mapping[PaymentStatus, frozenset[PaymentStatus]],
) -> dict[PaymentStatus, frozenset[PaymentStatus]]:
    # A host does not see every step: a read after the consumer returns may find a payment
    # already refunded. Every status reachable through single steps is an allowed move.
    closure: dict[PaymentStatus, frozenset[PaymentStatus]] = {}
    for start in steps:
        seen: set[PaymentStatus] = set()
        frontier = list(steps[start])
        while frontier:
            status = frontier.pop()
            if status not in seen:
                seen.add(status)
                frontier.extend(steps[status])
        closure[start] = frozenset(seen - {start})
    return closure


PAYMENT_TRANSITIONS: Mapping[PaymentStatus, frozenset[PaymentStatus]] = _closure(_PAYMENT_STEPS)
"""Allowed moves between payment statuses, single steps and the skips they imply.

Staying in the same status is always allowed."""

TERMINAL_PAYMENT_STATUSES: frozenset[PaymentStatus] = frozenset(
    status for status, targets in PAYMENT_TRANSITIONS.items() if not targets
)
"""Absorbing: REFUNDED, VOIDED and CHARGED_BACK. Nothing moves a payment out of them."""

NO_MONEY_OUTCOMES: frozenset[PaymentStatus] = frozenset({_S.DECLINED, _S.FAILED, _S.EXPIRED})
"""Final unless the provider later reports money captured or a hold voided (see the table)."""

PAYMENT_RANK: Mapping[PaymentStatus, int] = {
    _S.PENDING: 0,
    _S.REQUIRES_ACTION: 1,
    _S.PROCESSING: 2,
    _S.AUTHORIZED: 3,
    _S.FAILED: 4,
    _S.EXPIRED: 5,
    _S.DECLINED: 6,
    _S.PARTIALLY_CAPTURED: 7,
    _S.VOIDED: 8,
    _S.CAPTURED: 9,
    _S.PARTIALLY_REFUNDED: 10,
    _S.REFUNDED: 11,
    _S.CHARGED_BACK: 12,
}
"""How far along a status is; every allowed transition strictly increases it.

No two statuses share a rank, so the reducer never has to break a tie by the order updates
arrived in. VOIDED and CAPTURED are ranked but never both reachable: one excludes the other."""

MONEY_STATUSES: frozenset[PaymentStatus] = frozenset(
    {_S.PARTIALLY_CAPTURED, _S.CAPTURED, _S.VOIDED, _S.PARTIALLY_REFUNDED, _S.REFUNDED, _S.CHARGED_BACK}
)
"""Statuses that only the money totals decide (see ``status_from_totals``)."""

MANDATE_TRANSITIONS: Mapping[MandateStatus, frozenset[MandateStatus]] = {
    MandateStatus.PENDING: frozenset(
        {MandateStatus.REQUIRES_ACTION, MandateStatus.ACTIVE, MandateStatus.FAILED}
    ),
    MandateStatus.REQUIRES_ACTION: frozenset({MandateStatus.ACTIVE, MandateStatus.FAILED}),
    MandateStatus.ACTIVE: frozenset({MandateStatus.REVOKED}),
    MandateStatus.FAILED: frozenset(),
    MandateStatus.REVOKED: frozenset(),
}

MANDATE_RANK: Mapping[MandateStatus, int] = {
    MandateStatus.PENDING: 0,
    MandateStatus.REQUIRES_ACTION: 1,
    MandateStatus.ACTIVE: 2,
    MandateStatus.FAILED: 2,
    MandateStatus.REVOKED: 3,
}


def can_transition(current: PaymentStatus, new: PaymentStatus) -> bool:
    """True when a payment may move from ``current`` to ``new`` (or stay where it is)."""
    return new is current or new in PAYMENT_TRANSITIONS[current]


def can_transition_mandate(current: MandateStatus, new: MandateStatus) -> bool:
    return new is current or new in MANDATE_TRANSITIONS[current]
