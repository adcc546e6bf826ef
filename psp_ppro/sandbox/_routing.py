"""Routing: PPRO's API paths onto the simulator's handlers, and the helpers of its answers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit, urlunsplit

from attrs import frozen

from ._errors import ApiError, bad_request
from ._middleware import MAX_RESPONSE_BYTES, SEARCH_PAGE_SIZE, ApiRequest
from ._models import Charge, Json, to_json
from ._validation import effective_port, is_loopback, split_url

Handler = Callable[[ApiRequest], tuple[int, object]]


@frozen
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def match(routes: list[Route], method: str, path: str) -> tuple[Handler, tuple[str, ...]]:
    """The handler for ``method path`` and the path's parameters; 405 or 404 otherwise."""
    path_matched = False
    for route in routes:
        found = route.pattern.fullmatch(path)
        if found is None:
            continue
        path_matched = True
        if route.method == method:
            return route.handler, found.groups()
    if path_matched:
        raise ApiError(405, f"Method {method} is not allowed on {path}")
    raise ApiError(404, f"No resource at {path}")


def search_page(found: list[Charge], page: str | None) -> Json:
    """One page of a search: at most SEARCH_PAGE_SIZE charges and MAX_RESPONSE_BYTES of JSON.

    ``nextPage`` is the index of the first charge not shown, as a string; it is omitted on the
    last page (PPRO's schema has no null).
    """
    start = 0
    if page is not None:
        if not page.isascii() or not page.isdigit() or int(page) > len(found):
            raise bad_request("page must be a nextPage value from an earlier search")
        start = int(page)
    data: list[Json] = []
    size = 64  # the envelope and nextPage
    index = start
    while index < len(found) and len(data) < SEARCH_PAGE_SIZE:
        item = to_json(found[index])
        item_size = len(json.dumps(item, separators=(",", ":"))) + 1
        if data and size + item_size > MAX_RESPONSE_BYTES:
            break
        data.append(item)
        size += item_size
        index += 1
    result: Json = {"data": data}
    if index < len(found):
        result["nextPage"] = str(index)
    return result


def targets_sandbox(url: str, base_url: str) -> bool:
    """True when ``url`` would reach the sandbox served at ``base_url`` itself.

    Every loopback name counts as the same host: the sandbox may be reached as localhost,
    127.0.0.1 or [::1] alike.
    """
    try:
        target, own = split_url(url, "url"), split_url(base_url, "base_url")
    except ApiError:
        return False
    same_host = (is_loopback(target.hostname) and is_loopback(own.hostname)) or (
        target.hostname is not None and target.hostname == own.hostname
    )
    return same_host and effective_port(target) == effective_port(own)


def append_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(extra)}" if parts.query else urlencode(extra)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
