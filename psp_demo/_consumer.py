"""The simulated consumer: a browser that opens the hosted page and presses a button.

It does what a real browser does and nothing more: GET the ``requestUrl``, find the form
for the chosen button in the HTML, submit it as ``application/x-www-form-urlencoded``, and
follow the 303 to the shop's return URL. Redirects are followed by hand so the demo can
show (and check) where the provider sent the consumer.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import attrs
import httpx


@attrs.frozen
class Form:
    method: str
    action: str
    fields: dict[str, str]


@attrs.frozen
class BrowserVisit:
    """What the consumer saw: the page, the redirect after submitting, and where it ended."""

    page_status: int
    submit_status: int
    redirected_to: str | None
    final_status: int | None


class _FormFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        attrs_ = {name: value or "" for name, value in attributes}
        if tag == "form":
            self._current = Form(attrs_.get("method", "get").upper(), attrs_.get("action", ""), {})
        elif self._current is not None and tag in ("input", "button") and attrs_.get("name"):
            # A submit button contributes its name/value only when pressed; each form here
            # has one button, so pressing it means including it.
            self._current.fields[attrs_["name"]] = attrs_.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._current is not None:
            self.forms.append(self._current)
            self._current = None


def find_form(html: str, page_url: str, button: str) -> Form:
    """The form whose ``action`` field is ``button`` (approve / decline / cancel), absolute URL."""
    finder = _FormFinder()
    finder.feed(html)
    for form in finder.forms:
        if form.fields.get("action") == button:
            return attrs.evolve(form, action=urljoin(page_url, form.action))
    offered = sorted(form.fields.get("action", "?") for form in finder.forms)
    raise LookupError(f"the hosted page at {page_url} has no {button!r} button (it offers {offered})")


def press(client: httpx.Client, request_url: str, button: str) -> BrowserVisit:
    page = client.get(request_url)
    page.raise_for_status()
    form = find_form(page.text, str(page.url), button)
    submitted = client.request(form.method, form.action, data=form.fields)
    location = submitted.headers.get("Location") if submitted.is_redirect else None
    final = None
    if location is not None:
        final = client.get(urljoin(form.action, location)).status_code
    return BrowserVisit(page.status_code, submitted.status_code, location, final)


async def press_async(client: httpx.AsyncClient, request_url: str, button: str) -> BrowserVisit:
    page = await client.get(request_url)
    page.raise_for_status()
    form = find_form(page.text, str(page.url), button)
    submitted = await client.request(form.method, form.action, data=form.fields)
    location = submitted.headers.get("Location") if submitted.is_redirect else None
    final = None
    if location is not None:
        final = (await client.get(urljoin(form.action, location))).status_code
    return BrowserVisit(page.status_code, submitted.status_code, location, final)
