"""``psp reconcile --store URL``: settle the journal entries a crash left open.

Imported by psp_core's command line only when the command runs, so ``psp`` works without the
``psp[store]`` extra. One gateway per provider in the journal, configured from the environment
exactly as ``Gateway(provider)`` is (e.g. the ``PPRO_*`` variables).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from psp_core import Gateway, ValidationError

from ._reconcile import reconcile
from ._store import Store, _url_of

PROGRESS_EVERY_S = 1.0
EXIT_USAGE = 2


def run(args: argparse.Namespace) -> int:
    try:
        url = _url_of(args.store, field="--store")
    except ValidationError as error:
        print(f"psp reconcile: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    # Opening a store creates it: a mistyped path would make an empty store and report "0 open",
    # so the reconciler reads only an SQLite file that is already there.
    database = url.database if url.get_backend_name() == "sqlite" else None
    if database not in (None, "", ":memory:") and not Path(str(database)).is_file():
        print(
            f"psp reconcile: error: --store {args.store}: there is no store file at {database}; "
            "name the SQLite file your host's Store writes (or its postgresql:// URL)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    with Store(args.store) as store:
        providers = sorted({entry.provider for entry in store.journal(open_only=True)})
        gateways = {provider: Gateway(provider, plugin_manager=args.plugin_manager) for provider in providers}
        last_shown: list[float | None] = [time.monotonic(), None]

        def progress(done: int, total: int) -> None:
            # A long run shows where it is, at most once a second; a short one stays quiet.
            now = time.monotonic()
            started = last_shown[0] or now
            if now - started >= PROGRESS_EVERY_S or (done == total and last_shown[1] is not None):
                print(f"psp reconcile: {done}/{total} entries", file=sys.stderr, flush=True)
                last_shown[0] = last_shown[1] = now

        try:
            report = reconcile(
                store, gateways, grace_s=args.grace, replay=not args.no_replay, progress=progress
            )
        finally:
            for gateway in gateways.values():
                gateway.close()
        still_open = len(store.journal(open_only=True))
    if args.json:
        print(
            json.dumps(
                {"settled": dict(report.settled), "left_open": list(report.left_open), "open": still_open}
            )
        )
    else:
        parts = ", ".join(f"{count} {outcome}" for outcome, count in report.settled.items()) or "nothing"
        print(f"settled {report.total_settled} journal entries ({parts}); {still_open} open")
        for line in report.left_open:
            print(f"  left open: {line}")
    return 1 if report.left_open else 0
