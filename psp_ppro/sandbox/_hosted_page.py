"""The consumer's hosted authentication page (what the method's own pages stand in for).

For a method with bank selection (iDEAL) and no bank named in the request, the page asks for
the consumer's bank first, as PPRO's iDEAL flow does; the approve button sends the choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

ACTIONS = ("approve", "decline", "cancel")

SANDBOX_BANKS: Mapping[str, str] = {
    "ABNANL2A": "ABN AMRO",
    "INGBNL2A": "ING",
    "RABONL2U": "Rabobank",
}
"""The banks the sandbox's bank selection offers, by BIC (sandbox data, not PPRO's list)."""


def _bank_select() -> str:
    options = "".join(f'<option value="{bic}">{escape(name)}</option>' for bic, name in SANDBOX_BANKS.items())
    return f'<label>Your bank <select name="bank">{options}</select></label>'


def render_page(
    resource_id: str,
    status: str,
    amount: int | None,
    currency: str | None,
    action_url: str,
    *,
    method: str,
    choose_bank: bool = False,
) -> str:
    rid = escape(resource_id)
    money = (
        ""
        if amount is None
        else (f"<p>Amount: <strong>{amount // 100}.{amount % 100:02d} {escape(currency or '')}</strong></p>")
    )
    if status != "AUTHENTICATION_PENDING":
        body = f"<p>This request is <strong>{escape(status)}</strong>; nothing left to do.</p>"
    else:
        buttons = "\n".join(
            f'<form method="post" action="{escape(action_url)}">'
            f'<input type="hidden" name="action" value="{a}">'
            + (_bank_select() if choose_bank and a == "approve" else "")
            + f'<button type="submit" name="submit" value="{a}">{a.capitalize()}</button></form>'
            for a in ACTIONS
        )
        body = f"{money}\n{buttons}"
    name = escape(method)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{name} sandbox - {rid}</title></head>\n<body>"
        f"<h1>{name} (PPRO sandbox)</h1><p>Request <code>{rid}</code></p>\n{body}\n"
        "</body></html>\n"
    )


def render_result(resource_id: str, result: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>PPRO sandbox</title></head>\n"
        f"<body><p>{escape(resource_id)}: {escape(result)}</p></body></html>\n"
    )
