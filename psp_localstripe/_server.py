"""Run localstripe's aiohttp application on 127.0.0.1 only, in memory, and print the port.

localstripe's own ``localstripe`` command listens on every interface (``::``) and pickles its
whole store to ``/tmp/localstripe.pickle`` on every write, which two test workers would share.
This entry point serves the same application on loopback, on a port the OS picks, with no
store file: ``python -m psp_localstripe._server`` prints ``PORT <n>`` once it listens.
"""

from __future__ import annotations

import socket
import sys


def main() -> None:
    from aiohttp import web
    from localstripe import resources, server

    # The store lives in memory only: no state is shared between processes or runs.
    resources.store.dump_to_disk = lambda: None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    web.run_app(server.app, sock=sock, print=None, access_log=None, handle_signals=True)


if __name__ == "__main__":
    main()
    sys.exit(0)
