"""The consumer's hosted authentication page (what Amazon's login/approve page stands in for)."""

from __future__ import annotations

from html import escape

ACTIONS = ("approve", "decline", "cancel")


def render_page(
    resource_id: str, status: str, amount: int | None, currency: str | None, action_url: str
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
            f'<button type="submit" name="submit" value="{a}">{a.capitalize()}</button></form>'
            for a in ACTIONS
        )
        body = f"{money}\n{buttons}"
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Amazon Pay sandbox - {rid}</title></head>\n<body>"
        f"<h1>Amazon Pay (PPRO sandbox)</h1><p>Request <code>{rid}</code></p>\n{body}\n"
        "</body></html>\n"
    )


def render_result(resource_id: str, result: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Amazon Pay sandbox</title></head>\n"
        f"<body><p>{escape(resource_id)}: {escape(result)}</p></body></html>\n"
    )
