"""The consumer's hosted authentication page (what the method's own pages stand in for).

For a method with bank selection (iDEAL) and no bank named in the request, the page asks for
the consumer's bank first, as PPRO's iDEAL flow does; the approve button sends the choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from ._errors import UnknownResourceError
from ._methods import METHODS
from ._middleware import SimResponse
from ._models import Agreement, Charge
from ._routing import append_query

if TYPE_CHECKING:
    from ._simulator import PproSimulator

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
        f"<body><h1>PPRO sandbox</h1><p>{escape(resource_id)}: {escape(result)}</p></body></html>\n"
    )


def chooses_bank(resource: Charge | Agreement) -> bool:
    """The consumer picks a bank on the page: the method has bank selection, the request named none."""
    rules = METHODS.get(resource.payment_method)
    return rules is not None and rules.bank_selection and resource.bank_code is None


class HostedPages:
    """The consumer's page at ``/__sandbox__/authenticate/{id}``: shown, and its buttons pressed."""

    def __init__(self, simulator: PproSimulator) -> None:
        self._sim = simulator

    def _resource(self, rid: str) -> Charge | Agreement:
        found = self._sim._state.agreements.get(rid) or self._sim._state.charges.get(rid)
        if found is None:
            raise UnknownResourceError(rid)
        return found

    def page(self, rid: str) -> SimResponse:
        resource = self._resource(rid)
        amount = currency = None
        if isinstance(resource, Charge):
            amount, currency = resource.amount, resource.currency
        elif resource.initial_charge_id is not None:
            initial = self._sim._state.charges[resource.initial_charge_id]
            amount, currency = initial.amount, initial.currency
        html = render_page(
            rid,
            resource.status,
            amount,
            currency,
            f"/__sandbox__/authenticate/{rid}",
            method=resource.payment_method,
            choose_bank=chooses_bank(resource),
        )
        return SimResponse(200, {"Content-Type": "text/html; charset=utf-8"}, html.encode())

    def submit(self, rid: str, body: bytes) -> SimResponse:
        form = parse_qs(body.decode("utf-8", "replace"))
        action = (form.get("action") or form.get("submit") or [""])[0]
        resource = self._resource(rid)
        if resource.status != "AUTHENTICATION_PENDING":
            html = render_result(rid, f"already {resource.status}")
            return SimResponse(409, {"Content-Type": "text/html; charset=utf-8"}, html.encode())
        if action == "approve" and chooses_bank(resource):
            bank = (form.get("bank") or [""])[0]
            if bank not in SANDBOX_BANKS:
                html = render_result(rid, f"choose your bank first (one of {', '.join(SANDBOX_BANKS)})")
                return SimResponse(400, {"Content-Type": "text/html; charset=utf-8"}, html.encode())
            resource.bank_code = bank
        status = self._sim.consumer_action(rid, action)
        result = {"approve": "approved", "decline": "declined", "cancel": "canceled"}[action]
        if resource.return_url is None:
            html = render_result(rid, f"{result} ({status})")
            return SimResponse(200, {"Content-Type": "text/html; charset=utf-8"}, html.encode())
        key = "paymentAgreementId" if isinstance(resource, Agreement) else "paymentChargeId"
        return SimResponse(
            303, {"Location": append_query(resource.return_url, {key: rid, "result": result})}, b""
        )
