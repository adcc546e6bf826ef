"""The ``psp`` command line.

The core provides ``psp providers``, ``psp contract`` and ``psp --version``; plugins add their
own commands through the ``psp_cli_commands`` hook (the Amazon Pay plugin adds ``psp demo`` and
``psp sandbox``). A command whose extra is not installed says which one in one line and exits 2.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys
from collections.abc import Callable, Sequence

from ._contract_cli import add_contract_command
from ._errors import PspError
from ._plugins import ENTRY_POINT_GROUP, create_plugin_manager, provider_infos

DISTRIBUTION = "psp"

# The modules each optional extra brings, so a missing one names the extra to install.
EXTRA_OF_MODULE = {
    "uvicorn": "sandbox",
    "starlette": "sandbox",
    "pytest": "contracts",
    "_pytest": "contracts",
    "hypothesis": "contracts",
}

EXIT_USAGE = 2


def distribution_version(name: str = DISTRIBUTION) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed as a distribution)"


def provider_distributions() -> dict[str, tuple[str, str]]:
    """Provider name -> (distribution name, version), for providers installed by entry point."""
    found: dict[str, tuple[str, str]] = {}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        if dist is not None:
            found.setdefault(entry_point.name, (dist.name, dist.version))
    return found


def _providers(args: argparse.Namespace) -> int:
    infos = provider_infos(args.plugin_manager)
    distributions = provider_distributions()
    if args.json:
        payload = [
            {
                "name": info.name,
                "display_name": info.display_name,
                "description": info.description,
                "version": info.version,
                "distribution": _distribution_json(distributions.get(info.name)),
                "capabilities": info.capabilities.to_dict(),
                "settings": dict(info.settings),
            }
            for info in infos
        ]
        print(json.dumps(payload, indent=2))
        return 0
    if not infos:
        print("No providers installed. Install a psp provider package (entry-point group psp_providers).")
        return 0
    for info in infos:
        caps = info.capabilities.to_dict()
        print(f"{info.name}  {info.display_name} {info.version}".rstrip())
        dist = distributions.get(info.name)
        print(f"  distribution: {dist[0]} {dist[1]}" if dist else "  distribution: none (registered by hand)")
        if info.description:
            print(f"  {info.description}")
        for key, value in caps.items():
            print(f"  {key}: {value}")
        if info.settings:
            print("  settings (environment variables):")
            for setting, env in info.settings.items():
                print(f"    {setting}: {env}")
    return 0


def _distribution_json(dist: tuple[str, str] | None) -> dict[str, str] | None:
    return {"name": dist[0], "version": dist[1]} if dist else None


def build_parser() -> argparse.ArgumentParser:
    pm = create_plugin_manager()
    parser = argparse.ArgumentParser(
        prog="psp",
        description="Payment providers behind one interface. `psp COMMAND --help` lists a command's options.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {distribution_version()}",
        help="print psp's version",
    )
    parser.set_defaults(plugin_manager=pm, func=None)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    providers = subparsers.add_parser("providers", help="list installed providers and their capabilities")
    providers.add_argument("--json", action="store_true", help="print as JSON")
    providers.set_defaults(func=_providers)
    add_contract_command(subparsers)
    pm.hook.psp_cli_commands(subparsers=subparsers)
    return parser


def missing_extra(error: ModuleNotFoundError) -> str | None:
    """The extra that brings the module ``error`` is about, if it is one of psp's extras."""
    root = (error.name or "").partition(".")[0]
    return EXTRA_OF_MODULE.get(root)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        func: Callable[[argparse.Namespace], int] | None = args.func
        if func is None:
            parser.print_help()
            return EXIT_USAGE
        try:
            code = func(args)
            # Flushed here, so a reader that went away is met inside the handler below rather
            # than at interpreter exit, where Python prints a traceback-like complaint.
            sys.stdout.flush()
            return code
        except ModuleNotFoundError as error:
            extra = missing_extra(error)
            if extra is None:
                raise
            print(
                f"psp: error: `psp {args.command}` needs the psp[{extra}] extra ({error.name} is not "
                f'installed); install it with: pip install "psp[{extra}]"',
                file=sys.stderr,
            )
            return EXIT_USAGE
        except PspError as error:
            print(f"psp: error: {error}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130
    except BrokenPipeError:
        # The reader went away (`psp providers | head`): stop quietly, as the Python docs
        # advise, pointing stdout at devnull so the interpreter's final flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
