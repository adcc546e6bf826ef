"""Journalled gateways: :class:`StoredGateway` (sync) and :class:`AsyncStoredGateway` (async).

Each write (authorize, capture, void, refund, create / charge / revoke mandate) runs in three
steps: (1) its intent is committed to the journal, with the idempotency key the gateway will send
(generated here when the host gave none) and the request's JSON form; (2) the gateway sends it;
(3) the answer is folded into the stored payment or mandate and the entry's outcome is written,
in one transaction. A process that dies between (1) and (3) leaves an open entry, which
:func:`~psp_store.reconcile` settles. Reads fold the fresh answer into what is stored.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, cast

import attrs

from psp_core import (
    AsyncGateway,
    AuthorizeRequest,
    CaptureRequest,
    Gateway,
    IdempotencyConflictError,
    Mandate,
    MandateChargeRequest,
    MandateRequest,
    Payment,
    PspError,
    RefundRequest,
    RevokeMandateRequest,
    TransportError,
    ValidationError,
    VoidRequest,
)

from ._errors import StoreError, StoreUnavailableError
from ._requests import WriteRequest
from ._store import JournalOutcome, SettledBy, Store

log = logging.getLogger("psp.store")
_Request = TypeVar("_Request", bound=WriteRequest)

_CALLS: Mapping[type[Any], str] = {
    AuthorizeRequest: "authorize",
    CaptureRequest: "capture",
    VoidRequest: "void",
    RefundRequest: "refund",
    MandateRequest: "create_mandate",
    MandateChargeRequest: "charge_mandate",
    RevokeMandateRequest: "revoke_mandate",
}


@attrs.frozen
class _Intent:
    call: str
    request: WriteRequest
    resource: str | None
    merchant_reference: str | None


def _intent(request: WriteRequest) -> _Intent:
    call = _CALLS.get(type(request))
    if call is None:
        raise ValidationError("request", f"is a {type(request).__name__}, not a write request")
    if request.idempotency_key is None:
        # Generated here, not by the gateway, so the journal holds the key the provider sees.
        request = attrs.evolve(request, idempotency_key=uuid.uuid4().hex)
    resource: str | None = None
    reference: str | None = None
    if isinstance(request, AuthorizeRequest | MandateRequest | MandateChargeRequest):
        reference = request.merchant_reference
    if isinstance(request, CaptureRequest | VoidRequest | RefundRequest):
        resource, reference = request.payment.id, request.payment.merchant_reference
    if isinstance(request, MandateChargeRequest | RevokeMandateRequest):
        resource = request.mandate_id
    return _Intent(call, request, resource, reference)


def _definitive(error: PspError) -> bool:
    """True when the error proves the call took no effect (so the entry is settled FAILED)."""
    if isinstance(error, TransportError):
        return not error.outcome_unknown
    # "first use in flight" says the first may still take effect: the reconciler settles it.
    return not isinstance(error, IdempotencyConflictError)


def _unsaved(entry_id: int, result: Payment | Mandate, error: StoreError) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"the provider answered (the {type(result).__name__.lower()} {result.id} is {result.status.value}) "
        f"but the answer could not be saved: {error} Journal entry {entry_id} stays open; run "
        "`psp reconcile` once the database is back, and it saves the answer",
        result=result,
    )


class _StoredBase:
    store: Store
    provider: str

    def _open(self, intent: _Intent) -> int:
        return self.store._open_entry(
            self.provider, intent.call, intent.request, intent.resource, intent.merchant_reference
        )

    def _failed(self, entry_id: int, error: PspError) -> None:
        if not _definitive(error):
            return
        try:
            self.store._close_entry(entry_id, None, JournalOutcome.FAILED, str(error), SettledBy.CALL)
        except StoreError as unsaved:
            # The call's own error is what the host must see; the open entry is settled later.
            log.warning(
                "journal entry %s: could not record the failure (%s); psp reconcile settles it",
                entry_id,
                unsaved,
            )

    def _saved(self, entry_id: int, result: Payment | Mandate) -> Any:
        try:
            return self.store._close_entry(entry_id, result, JournalOutcome.SUCCEEDED, None, SettledBy.CALL)
        except StoreError as error:
            raise _unsaved(entry_id, result, error) from error


class StoredGateway(_StoredBase):
    """A :class:`~psp_core.Gateway` whose writes are journalled and whose answers are stored.

    The same methods as the gateway; each returns what is stored after the answer was folded in
    (the provider's answer, plus anything a webhook stored meanwhile).
    """

    def __init__(self, gateway: Gateway, store: Store) -> None:
        self.gateway = gateway
        self.store = store
        self.provider = gateway.provider

    def __repr__(self) -> str:
        return f"<StoredGateway {self.provider!r} store={self.store.url!r}>"

    def close(self) -> None:
        """Close the gateway; the store is the host's to close."""
        self.gateway.close()

    def __enter__(self) -> StoredGateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _write(self, request: WriteRequest, send: Callable[[Any], Payment | Mandate]) -> Any:
        intent = _intent(request)
        entry_id = self._open(intent)
        try:
            result = send(intent.request)
        except PspError as error:
            self._failed(entry_id, error)
            raise
        return self._saved(entry_id, result)

    def authorize(self, request: AuthorizeRequest) -> Payment:
        return cast(Payment, self._write(request, self.gateway.authorize))

    def capture(self, request: CaptureRequest) -> Payment:
        return cast(Payment, self._write(request, self.gateway.capture))

    def void(self, request: VoidRequest) -> Payment:
        return cast(Payment, self._write(request, self.gateway.void))

    def refund(self, request: RefundRequest) -> Payment:
        return cast(Payment, self._write(request, self.gateway.refund))

    def create_mandate(self, request: MandateRequest) -> Mandate:
        return cast(Mandate, self._write(request, self.gateway.create_mandate))

    def charge_mandate(self, request: MandateChargeRequest) -> Payment:
        return cast(Payment, self._write(request, self.gateway.charge_mandate))

    def revoke_mandate(self, request: RevokeMandateRequest) -> Mandate:
        return cast(Mandate, self._write(request, self.gateway.revoke_mandate))

    def get_payment(self, payment_id: str) -> Payment:
        """Read the payment and fold the answer into the stored one (stored when new)."""
        return self.store.save(self.gateway.get_payment(payment_id))

    def find_payment(self, merchant_reference: str) -> Payment | None:
        found = self.gateway.find_payment(merchant_reference)
        return None if found is None else self.store.save(found)

    def get_mandate(self, mandate_id: str) -> Mandate:
        return self.store.save(self.gateway.get_mandate(mandate_id))

    def ingest(self, headers: Mapping[str, str], body: bytes) -> Payment | Mandate | None:
        """:meth:`Store.ingest` with this gateway verifying the webhook."""
        return self.store.ingest(headers, body, gateway=self.gateway)


class AsyncStoredGateway(_StoredBase):
    """The async twin of :class:`StoredGateway` over an :class:`~psp_core.AsyncGateway`.

    The database work runs in a worker thread (``asyncio.to_thread``), so the event loop never
    waits for a lock or a disk.
    """

    def __init__(self, gateway: AsyncGateway, store: Store) -> None:
        self.gateway = gateway
        self.store = store
        self.provider = gateway.provider

    def __repr__(self) -> str:
        return f"<AsyncStoredGateway {self.provider!r} store={self.store.url!r}>"

    async def aclose(self) -> None:
        await self.gateway.aclose()

    async def __aenter__(self) -> AsyncStoredGateway:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _write(self, request: WriteRequest, send: Callable[[Any], Awaitable[Payment | Mandate]]) -> Any:
        intent = _intent(request)
        entry_id = await asyncio.to_thread(self._open, intent)
        try:
            result = await send(intent.request)
        except PspError as error:
            await asyncio.to_thread(self._failed, entry_id, error)
            raise
        return await asyncio.to_thread(self._saved, entry_id, result)

    async def authorize(self, request: AuthorizeRequest) -> Payment:
        return cast(Payment, await self._write(request, self.gateway.authorize))

    async def capture(self, request: CaptureRequest) -> Payment:
        return cast(Payment, await self._write(request, self.gateway.capture))

    async def void(self, request: VoidRequest) -> Payment:
        return cast(Payment, await self._write(request, self.gateway.void))

    async def refund(self, request: RefundRequest) -> Payment:
        return cast(Payment, await self._write(request, self.gateway.refund))

    async def create_mandate(self, request: MandateRequest) -> Mandate:
        return cast(Mandate, await self._write(request, self.gateway.create_mandate))

    async def charge_mandate(self, request: MandateChargeRequest) -> Payment:
        return cast(Payment, await self._write(request, self.gateway.charge_mandate))

    async def revoke_mandate(self, request: RevokeMandateRequest) -> Mandate:
        return cast(Mandate, await self._write(request, self.gateway.revoke_mandate))

    async def get_payment(self, payment_id: str) -> Payment:
        return await asyncio.to_thread(self.store.save, await self.gateway.get_payment(payment_id))

    async def find_payment(self, merchant_reference: str) -> Payment | None:
        found = await self.gateway.find_payment(merchant_reference)
        return None if found is None else await asyncio.to_thread(self.store.save, found)

    async def get_mandate(self, mandate_id: str) -> Mandate:
        return await asyncio.to_thread(self.store.save, await self.gateway.get_mandate(mandate_id))

    async def ingest(self, headers: Mapping[str, str], body: bytes) -> Payment | Mandate | None:
        """Verify, read an unknown payment or mandate (awaited), then fold in a worker thread."""
        event = self.gateway.parse_webhook(headers, body)
        read_payment, read_mandate = await asyncio.to_thread(self.store._unknowns, event)
        fresh_payment = (
            await self.gateway.get_payment(event.payment_id) if read_payment and event.payment_id else None
        )
        fresh_mandate = (
            await self.gateway.get_mandate(event.mandate_id) if read_mandate and event.mandate_id else None
        )
        return await asyncio.to_thread(self.store._fold_event, event, fresh_payment, fresh_mandate)
