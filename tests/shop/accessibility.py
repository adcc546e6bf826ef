"""The accessibility smoke check every shop page and the sandbox's hosted page must pass.

Three rules, checked on the page as the browser built it: exactly one ``h1``; every form
control has a label (a ``<label>``, ``aria-label`` or ``aria-labelledby``; a button its text);
and no broken links: every ``href`` and form ``action`` answers below 400. A form that posts
is not posted (that would capture or refund); its action must name a route that exists, so a
GET may answer 405 (the route takes POST only), never 404.
"""

from __future__ import annotations

from typing import TypedDict

import httpx
from playwright.sync_api import Page


class _Target(TypedDict):
    url: str
    method: str


class _Found(TypedDict):
    h1: int
    unlabeled: list[str]
    targets: list[_Target]


_COLLECT = """() => {
  const controls = [...document.querySelectorAll('input, select, textarea, button')]
    .filter(e => e.type !== 'hidden');
  const named = e => (e.getAttribute('aria-label') || '').trim() || e.getAttribute('aria-labelledby');
  const unlabeled = controls.filter(e => {
    if (e.tagName === 'BUTTON') return !(e.textContent.trim() || named(e));
    if (['submit', 'button', 'reset'].includes(e.type)) return !(e.value || named(e));
    return !((e.labels && e.labels.length) || named(e));
  }).map(e => e.outerHTML.slice(0, 160));
  const links = [...document.querySelectorAll('a[href]')].map(a => ({url: a.href, method: 'GET'}));
  // The attribute, not form.action: a field named "action" (the hosted page has one) hides it.
  const forms = [...document.querySelectorAll('form')].map(f => ({
    url: new URL(f.getAttribute('action') || '', document.baseURI).href,
    method: (f.getAttribute('method') || 'get').toUpperCase()}));
  return {h1: document.querySelectorAll('h1').length, unlabeled, targets: links.concat(forms)};
}"""


def problems_on(page: Page, client: httpx.Client) -> list[str]:
    """What is wrong on the page the browser shows now; empty when it passes."""
    found: _Found = page.evaluate(_COLLECT)
    problems = []
    if found["h1"] != 1:
        problems.append(f"{found['h1']} h1 headings, expected exactly one")
    problems += [f"form control without a label: {html}" for html in found["unlabeled"]]
    for target in {(t["url"], t["method"]) for t in found["targets"]}:
        url, method = target
        status = client.get(url).status_code
        broken = status == 404 or (status >= 400 and not (method == "POST" and status == 405))
        if broken:
            problems.append(f"broken {'link' if method == 'GET' else 'form action'} {url}: HTTP {status}")
    return sorted(problems)
