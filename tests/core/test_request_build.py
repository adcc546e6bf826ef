"""The core's part of every request, built cheaply and exactly as before (issue 18).

``ProviderConfig.url`` joins a path to the base URL without parsing the whole URL again, and
``_Exchange.prepare`` adds the defaults, the credentials (encoded once per gateway) and the
key. Both are held by hypothesis to the slower code they replaced, which is kept here as the
reference: ``httpx.URL(base_url + path)``, and the per-request header rebuild.
"""

from __future__ import annotations

import hashlib
import re
import string

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psp_core import Capabilities, ConfigurationError, ProviderConfig, RetryPolicy, Secret
from psp_core._flow import (
    _IDEMPOTENT_METHODS,
    Endpoint,
    _Exchange,
    idempotency_key_for,
    scoped_idempotency_key,
)

CAPS = Capabilities(currencies=frozenset({"EUR"}), countries=frozenset({"DE"}))
API_KEY = "Bearer sk_test_0123456789abcdef"


def config(base_url: str = "https://psp.example", **changes: object) -> ProviderConfig:
    fields: dict[str, object] = {
        "provider": "acme",
        "base_url": base_url,
        "capabilities": CAPS,
        "secret_headers": {"Authorization": Secret(API_KEY)},
        "headers": {"Merchant-Id": "merchant_1"},
        "idempotency_header": "Request-Idempotency-Key",
    }
    fields.update(changes)
    return ProviderConfig(**fields)  # type: ignore[arg-type]


# -- ProviderConfig.url: the same URL httpx parses from base_url + path ---------------------------

BASES = [
    "https://psp.example",
    "https://psp.example/",
    "https://psp.example/api",
    "https://psp.example:8443/api/v2",
    "http://127.0.0.1:5000",
    "https://user:pw@psp.example/x",
    "https://PSP.Example",
    "https://psp.example/%7Euser",
    "https://psp.example?x=1",  # a query: every path is parsed whole
    "https://psp.example#top",
    "https://bücher.example/shop",
]
SEGMENT = st.text(
    alphabet=string.ascii_letters + string.digits + "-._~%!$&'()*+,;=:@/?#[] \"<>`{}|\\^é\x00\n", max_size=12
)
PATHS = st.one_of(
    st.lists(SEGMENT, max_size=4).map(lambda parts: "".join("/" + part for part in parts)),
    st.text(max_size=20),  # anything at all, malformed included
    st.sampled_from(
        ["", "/", "//", "/.", "/..", "/a/./b", "/a/../b", "/%", "/%zz", "/%2F", "/%2f", "/a%20b", "?q=1"]
    ),
)


def _same_url(fast: httpx.URL, parsed: httpx.URL) -> None:
    assert fast == parsed
    assert str(fast) == str(parsed)
    assert fast.raw_path == parsed.raw_path
    assert (fast.scheme, fast.host, fast.port, fast.netloc) == (
        parsed.scheme,
        parsed.host,
        parsed.port,
        parsed.netloc,
    )
    assert (fast.path, fast.query, fast.fragment, fast.userinfo) == (
        parsed.path,
        parsed.query,
        parsed.fragment,
        parsed.userinfo,
    )


@settings(max_examples=600, deadline=None)
@given(base=st.sampled_from(BASES), path=PATHS)
def test_a_joined_url_is_exactly_the_url_httpx_parses_from_the_whole_string(base: str, path: str) -> None:
    try:
        expected = httpx.URL(base + path)
    except httpx.InvalidURL as refused:
        with pytest.raises(httpx.InvalidURL, match=re.escape(str(refused))):
            config(base).url(path)
        return
    _same_url(config(base).url(path), expected)


def test_the_installed_httpx_takes_the_fast_join() -> None:
    # Not a behaviour, a cost: if httpx changed how a URL keeps its components, every
    # request would quietly pay a whole parse again.
    assert config()._parsed_base_url is not None


@pytest.mark.parametrize("path", ["/v1/payment-charges/..", "/v1/./x", "/a b", "/x?y=1", "/%zz", "/é"])
def test_a_path_parsing_would_change_is_parsed_whole(path: str) -> None:
    _same_url(config().url(path), httpx.URL("https://psp.example" + path))


def test_an_unparseable_base_url_fails_as_httpx_fails_it() -> None:
    with pytest.raises(httpx.InvalidURL):
        config("https://psp.example:abc").url("/v1")


def test_the_parsed_base_url_is_no_part_of_the_configs_equality_or_repr() -> None:
    first, second = config(), config()
    first.url("/v1")
    assert first == second
    assert "_parsed_base_url" not in repr(first)


# -- _Exchange.prepare: the same headers, in the same order, as the rebuild it replaced ------------


def reference_prepare(exchange: _Exchange, request: httpx.Request) -> httpx.Request:
    """The prepare of round two, word for word but for its names: the reference."""
    endpoint = exchange.endpoint
    relative = not request.url.is_absolute_url
    request.url = endpoint.join(request.url)
    replaced = endpoint.replaced
    if relative:
        replaced = replaced | {b"host"}
    merged = [(name, value) for name, value in request.headers.raw if name.lower() not in replaced]
    present = {name.lower() for name, _ in merged}
    if relative:
        merged.insert(0, (b"Host", request.url.netloc))
    merged += [(name, value) for lower, name, value in endpoint.default_raw if lower not in present]
    merged += [
        (name.encode("ascii"), secret.reveal().encode("ascii")) for name, secret in endpoint.secret_headers
    ]
    if request.method not in _IDEMPOTENT_METHODS:
        scoped = scoped_idempotency_key(exchange.operation, exchange.resource, exchange.idempotency_key)
        key = idempotency_key_for(scoped, exchange.posts)
        limit = exchange.config.idempotency_key_limit
        if limit is not None and len(key) > limit:
            key = "sha256-" + hashlib.sha256(key.encode()).hexdigest()[: max(limit - 7, 16)]
        merged.append((exchange.config.idempotency_header.encode("ascii"), key.encode("ascii")))
        exchange.posts += 1
    request.headers = httpx.Headers(merged)
    request.extensions["timeout"] = endpoint.timeout
    return request


# Built once: an httpx.Client costs milliseconds (its SSL context), a hypothesis example not.
ENDPOINT = Endpoint.of(
    config("https://psp.example/api"), httpx.Client(headers={"Accept": "application/json"})
)
NAMES = st.sampled_from(
    [
        "Authorization",
        "authorization",
        "AUTHORIZATION",
        "Request-Idempotency-Key",
        "request-idempotency-key",
        "Host",
        "host",
        "Accept",
        "accept",
        "User-Agent",
        "Merchant-Id",
        "merchant-id",
        "Content-Type",
        "Request-Reference",
        "X-Trace",
    ]
)
VALUES = st.one_of(
    st.text(alphabet=string.printable.strip() + " ", max_size=10),
    st.binary(max_size=6).filter(
        lambda value: b"\r" not in value and b"\n" not in value and b"\0" not in value
    ),
)


@settings(max_examples=400, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "DELETE", "HEAD", "PUT"]),
    relative=st.booleans(),
    headers=st.lists(st.tuples(NAMES, VALUES), max_size=6),
    posts=st.integers(0, 3),
    resource=st.one_of(st.none(), st.text(max_size=80)),
    limit=st.one_of(st.none(), st.integers(20, 80)),
    key=st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=40),
)
def test_prepare_sends_what_the_per_request_rebuild_sent(
    method: str,
    relative: bool,
    headers: list[tuple[str, str | bytes]],
    posts: int,
    resource: str | None,
    limit: int | None,
    key: str,
) -> None:
    cfg = config("https://psp.example/api", idempotency_key_limit=limit)
    endpoint = ENDPOINT  # the limit is the config's; the endpoint is the same for every limit
    url = "/v1/x" if relative else "https://psp.example/api/v1/x"
    sent = [
        (name.encode("ascii"), value if isinstance(value, bytes) else value.encode("ascii"))
        for name, value in headers
    ]
    ours, theirs = (
        _Exchange(cfg, endpoint, RetryPolicy(), key, "capture", resource, posts=posts) for _ in range(2)
    )
    prepared = ours.prepare(httpx.Request(method, url, headers=sent))
    expected = reference_prepare(theirs, httpx.Request(method, url, headers=sent))
    assert prepared.headers.raw == expected.headers.raw
    assert prepared.headers.encoding == expected.headers.encoding
    assert prepared.headers == expected.headers
    assert prepared.url == expected.url
    assert prepared.extensions == expected.extensions
    assert ours.posts == theirs.posts
    # Whatever the flow set, the credentials and the key are the core's, and there once.
    lowered = [name.lower() for name, _ in prepared.headers.raw]
    assert lowered.count(b"authorization") == 1
    assert prepared.headers["Authorization"] == API_KEY
    assert lowered.count(b"request-idempotency-key") == (0 if method in ("GET", "HEAD") else 1)


def test_a_request_to_another_origin_is_still_refused() -> None:
    cfg = config()
    exchange = _Exchange(cfg, Endpoint.of(cfg, httpx.Client()), RetryPolicy(), "k", "get_payment")
    with pytest.raises(ConfigurationError, match="refusing to send credentials there"):
        exchange.prepare(httpx.Request("GET", "https://elsewhere.example/v1/x"))


def test_the_credentials_encoded_once_are_never_in_the_endpoints_repr() -> None:
    cfg = config()
    endpoint = Endpoint.of(cfg, httpx.Client())
    assert endpoint.secret_raw == ((b"Authorization", API_KEY.encode()),)
    assert "sk_test" not in repr(endpoint)
    assert "0123456789abcdef" not in repr(endpoint)
