"""The shop's SQLite records: psp's stored JSON form in, the same values out; events kept once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from psp_core import EventKind, Money, Payment, PaymentStatus, WebhookEvent, apply_event
from psp_demo._shop_records import OrderRecord, ShopRecords

USD = "USD"


def authorized(amount: int = 4800) -> Payment:
    money = Money(amount, USD)
    zero = Money.zero(USD)
    return Payment(
        provider="amazon_pay",
        id="charge_1",
        status=PaymentStatus.AUTHORIZED,
        amount=money,
        authorized=money,
        captured=zero,
        refunded=zero,
        voided=zero,
        charged_back=zero,
        merchant_reference="order-1",
    )


def order() -> OrderRecord:
    return OrderRecord(
        "order-1",
        datetime(2026, 1, 2, tzinfo=UTC),
        "2 x Enamel mug",
        "US",
        Money(4800, USD),
        "amazon_pay",
        None,
    )


def test_an_order_and_its_payment_survive_a_reopened_file(tmp_path: Path) -> None:
    path = tmp_path / "shop.sqlite3"
    records = ShopRecords(path)
    records.add_order(order())
    records.save_payment("order-1", "charge_1", lambda stored: authorized())
    records.close()

    reopened = ShopRecords(path)
    assert reopened.order("order-1") == OrderRecord(
        "order-1",
        datetime(2026, 1, 2, tzinfo=UTC),
        "2 x Enamel mug",
        "US",
        Money(4800, USD),
        "amazon_pay",
        "charge_1",
    )
    assert reopened.payment("charge_1") == authorized()
    assert reopened.orders() == [reopened.order("order-1")]
    reopened.close()


def test_a_save_merges_with_what_is_stored(tmp_path: Path) -> None:
    records = ShopRecords(tmp_path / "shop.sqlite3")
    records.add_order(order())
    records.save_payment("order-1", "charge_1", lambda stored: authorized())
    seen: list[Payment | None] = []

    def merge(stored: Payment | None) -> Payment:
        seen.append(stored)
        return authorized()

    records.save_payment("order-1", "charge_1", merge)
    assert seen == [authorized()]


def test_an_event_is_kept_once_and_found_by_its_subject() -> None:
    records = ShopRecords(":memory:")
    event = WebhookEvent(
        provider="amazon_pay",
        event_id="evt_1",
        kind=EventKind.PAYMENT_AUTHORIZED,
        provider_type="PAYMENT_CHARGE_AUTHORIZATION_SUCCEEDED",
        payment_id="charge_1",
        payment_status=PaymentStatus.AUTHORIZED,
    )
    assert records.add_event(event) is True
    assert records.add_event(event) is False  # the provider's redelivery
    assert records.events_about(["charge_1"]) == [event]
    assert records.event_ids() == {"evt_1"}
    assert records.update_payment("charge_unknown", lambda payment: apply_event(payment, event)) is None
