"""``psp demo --shop`` and the parts of the shop a browser does not reach: the basket rule,
the flag's registration, and the Ctrl-C stop."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from psp_amazonpay import capabilities as amazon_pay_capabilities
from psp_core import CommandLine, ConfigurationError, Money, Option
from psp_core._cli import build_parser, main
from psp_demo import STRIPE_TEST_PAYMENT_METHODS, PproReach, Shop, basket_refusal, open_reaches
from psp_demo._shop_records import ShopRecords
from psp_store import Store
from tests.process_output import HANG_GUARD_S, Lines

AMAZON_PAY = amazon_pay_capabilities()


def test_psp_demo_offers_the_shop_flag() -> None:
    args = build_parser().parse_args(["demo", "--shop"])
    assert args.shop is True
    help_text = build_parser()._subparsers._group_actions[0].choices["demo"].format_help()  # type: ignore[union-attr]
    assert "--shop" in help_text and "127.0.0.1" in help_text


@pytest.mark.loopback
def test_psp_demo_shop_prints_the_url_serves_the_shop_and_stops_on_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "psp_core._cli", "demo", "--shop"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None and process.stderr is not None
    out, err = Lines(process.stdout), Lines(process.stderr)
    try:
        # Waits for the shop's own "open ..." line, however long a busy machine takes to start it.
        lines = out.until("psp demo shop: open")
        match = re.search(r"open (http://127\.0\.0\.1:\d+)/ in your browser", "\n".join(lines))
        assert match, lines
        base_url = match.group(1)
        assert "Providers in the shop: amazon_pay, ideal, stripe" in lines, lines
        quoted = _readme_shop_console()
        assert len(quoted) == len(lines), (quoted, lines)
        for pattern, line in zip(quoted, lines, strict=True):
            assert pattern.fullmatch(line), (
                f"the README quotes {pattern.pattern!r}, the shop printed {line!r}"
            )
        assert any(line.startswith("Started localstripe (Stripe) at http://127.0.0.1:") for line in lines)
        products = httpx.get(base_url + "/", timeout=HANG_GUARD_S)
        assert products.status_code == 200 and "<h1>Products</h1>" in products.text
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            process.kill()  # hung: do not leave it running past the test
            process.wait()
            raise
    assert process.returncode == 0, err.all()
    assert "psp demo shop stopped" in out.all()
    with pytest.raises(httpx.ConnectError):
        httpx.get(base_url + "/", timeout=HANG_GUARD_S)


def _readme_shop_console() -> list[re.Pattern[str]]:
    """The console lines the README quotes under ``.venv/bin/psp demo --shop``; its ``PORT`` and
    ``XXXXXXXX`` (the temporary folder's random part) stand for what each run picks."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split(".venv/bin/psp demo --shop\n", 1)[1].split("```", 1)[0]
    quoted = [line.removeprefix("# ") for line in block.splitlines() if line.startswith("# ")]
    return [
        re.compile(
            re.escape(line).replace("PORT", r"\d+").replace("XXXXXXXX", r"[^/]+").replace("/tmp/", ".+/")
        )
        for line in quoted
    ]


@given(st.integers(min_value=1, max_value=10**9))
def test_amazon_pay_takes_a_us_dollar_basket_exactly_within_its_limits(minor: int) -> None:
    limits = AMAZON_PAY.amount_limits["USD"]
    refusal = basket_refusal(AMAZON_PAY, "US", Money(minor, "USD"))
    if limits.minimum.minor <= minor <= limits.maximum.minor:
        assert refusal is None
    else:
        assert refusal == f"takes 0.50 USD to 20000.00 USD, not {Money(minor, 'USD').format()}"


@given(st.sampled_from(["EUR", "GBP", "JPY"]), st.sampled_from(["NL", "DE", "GB"]))
def test_another_currency_or_country_is_refused_with_the_reason(currency: str, country: str) -> None:
    assert basket_refusal(AMAZON_PAY, "US", Money.parse(Decimal(10), currency)) == (
        f"takes USD only, not {currency}"
    )
    assert (
        basket_refusal(AMAZON_PAY, country, Money(1000, "USD")) == f"takes buyers in US only, not {country}"
    )


def test_a_subscription_basket_needs_recurring() -> None:
    without = AMAZON_PAY.__class__(
        currencies=AMAZON_PAY.currencies,
        countries=AMAZON_PAY.countries,
        amount_limits=AMAZON_PAY.amount_limits,
    )
    assert basket_refusal(without, "US", Money(1000, "USD"), recurring=True) == "takes no subscriptions"
    assert basket_refusal(AMAZON_PAY, "US", Money(1000, "USD"), recurring=True) is None


def test_a_demo_flag_is_a_long_flag_with_one_owner() -> None:
    cli = CommandLine(["acme", "other"])
    cli.add_demo_flag("acme", Option(("--shop",), "serve a shop", flag=True), lambda args: 0)
    with pytest.raises(ConfigurationError, match="added twice"):
        cli.add_demo_flag("other", Option(("--shop",), "another shop", flag=True), lambda args: 0)
    with pytest.raises(ConfigurationError, match="flag=True"):
        cli.add_demo_flag("acme", Option(("--port",), "a port"), lambda args: 0)
    with pytest.raises(ConfigurationError, match="no plugin is registered"):
        cli.add_demo_flag("nobody", Option(("--mall",), "a mall", flag=True), lambda args: 0)


def test_combining_shop_with_a_provider_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--shop", "amazon_pay"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "psp demo: error: --shop and a provider (amazon_pay) cannot be combined: `psp demo --shop` "
        "runs instead of the demos; drop --shop to play the amazon_pay demo, or drop amazon_pay "
        "to run `psp demo --shop`"
    )


def test_the_shop_without_its_extra_names_psp_shop_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import psp_demo

    def without_sqlalchemy(args: object) -> int:
        raise ModuleNotFoundError("No module named 'sqlalchemy'", name="sqlalchemy")

    monkeypatch.setattr(psp_demo, "serve_shop", without_sqlalchemy)
    assert main(["demo", "--shop"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "psp: error: `psp demo --shop` needs the psp[shop] extra (sqlalchemy is not installed); "
        'install it with: pip install "psp[shop]"\n'
    )


@pytest.mark.loopback
def test_without_localstripe_the_shop_reaches_ppro_and_says_why_not_stripe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import psp_localstripe

    monkeypatch.setattr(psp_localstripe, "available", lambda: False)
    with ExitStack() as stack:
        reaches, not_reached = open_reaches(stack, "http://127.0.0.1:9")
        assert [type(reach) for reach in reaches] == [PproReach]
        assert not_reached == [
            "Stripe is not offered: localstripe is not installed: pip install 'psp[localstripe]' "
            "(or pip install localstripe)"
        ]


def test_only_an_offered_test_card_becomes_the_payment_method_token(tmp_path: Path) -> None:
    with Store(tmp_path / "shop.sqlite3") as store:
        shop = Shop(
            ShopRecords(":memory:"),
            store,
            {},
            "http://127.0.0.1:9",
            {"stripe": STRIPE_TEST_PAYMENT_METHODS, "amazon_pay": ()},
        )
        offered = {method.token for method in STRIPE_TEST_PAYMENT_METHODS}

        @given(st.one_of(st.sampled_from(sorted(offered)), st.text(max_size=30)))
        def check(chosen: str) -> None:
            form = {"payment_method_stripe": chosen}
            if chosen.strip() in offered:
                assert shop.payment_method_token("stripe", form) == chosen.strip()
            else:
                with pytest.raises(ValueError, match="Choose one of the test cards offered for stripe"):
                    shop.payment_method_token("stripe", form)
            # A provider that takes no token gets none, whatever the form says.
            assert shop.payment_method_token("amazon_pay", form) is None

        check()
