"""The demo shop on loopback, and one headless Debian Chromium driven by Playwright, per module.

Playwright never downloads a browser here: it launches the system's ``/usr/bin/chromium``
(``python3 dev.py test`` installs Debian's package when it is missing) with a fresh profile.
Every step a test takes is screenshotted into pytest's temporary directory (the path is
printed), and every page a step lands on passes the accessibility smoke check first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright

from psp_demo import PproReach, RunningShop, StripeReach, running_shop
from psp_localstripe import SECRET_KEY
from tests.shop.accessibility import problems_on

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
README_SCREENSHOT_ENV = "PSP_SHOP_README_SCREENSHOT"
"""Set to a path to (re)write the README's order-page screenshot from the capture scenario."""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningShop]:
    with running_shop(tmp_path_factory.mktemp("shop") / "shop.sqlite3") as running:
        yield running


@pytest.fixture(scope="module")
def ppro(shop: RunningShop) -> PproReach:
    (reach,) = [reach for reach in shop.reaches if isinstance(reach, PproReach)]
    return reach


@pytest.fixture(scope="module")
def stripe_reach(shop: RunningShop) -> StripeReach:
    reaches = [reach for reach in shop.reaches if isinstance(reach, StripeReach)]
    assert reaches, f"the shop did not start localstripe: {list(shop.not_reached)}"
    return reaches[0]


@pytest.fixture(scope="module")
def stripe_api(stripe_reach: StripeReach) -> Iterator[httpx.Client]:
    """Stripe's API on localstripe: what the PSP holds, not what the shop shows."""
    headers = {"Authorization": f"Bearer {SECRET_KEY}"}
    with httpx.Client(base_url=stripe_reach.base_url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def sandbox_api(ppro: PproReach) -> Iterator[httpx.Client]:
    """PPRO's API and admin routes on the sandbox: what the PSP holds, not what the shop shows."""
    headers = {"Authorization": f"Bearer {ppro.api_key}", "Merchant-Id": ppro.merchant_id}
    with httpx.Client(base_url=ppro.base_url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `python3 dev.py test` installs Debian's chromium package "
            "(or run `apt-get install chromium` as root)"
        )
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    context = playwright.chromium.launch_persistent_context(
        tmp_path_factory.mktemp("chromium-profile"),
        executable_path=str(CHROMIUM),
        headless=True,
        args=list(CHROMIUM_FLAGS),
        viewport={"width": 1100, "height": 900},
    )
    context.set_default_timeout(10_000)
    yield context
    context.close()


class Steps:
    """Screenshots each step of a scenario, after the page passed the accessibility check."""

    def __init__(self, page: Page, folder: Path, links: httpx.Client) -> None:
        self.page = page
        self.folder = folder
        self.links = links
        self.taken: list[Path] = []

    def shot(self, name: str) -> Path:
        problems = problems_on(self.page, self.links)
        assert not problems, f"accessibility smoke check failed on {self.page.url}: {problems}"
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        self.page.screenshot(path=path, full_page=True)
        self.taken.append(path)
        return path


@pytest.fixture
def steps(browser: BrowserContext, tmp_path: Path) -> Iterator[Steps]:
    browser.clear_cookies()  # an empty cart for every scenario
    page = browser.new_page()
    with httpx.Client(timeout=10) as links:
        recorder = Steps(page, tmp_path, links)
        yield recorder
    page.close()
    print(f"\nscreenshots of each step: {tmp_path}")


@pytest.fixture
def readme_screenshot() -> Path | None:
    value = os.environ.get(README_SCREENSHOT_ENV)
    return Path(value) if value else None
