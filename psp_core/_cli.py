"""The ``psp`` command line.

The core provides ``psp providers``; plugins add their own commands through the
``psp_cli_commands`` hook (the Amazon Pay plugin adds ``psp demo`` and ``psp sandbox``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from ._contract_cli import add_contract_command
from ._errors import PspError
from ._plugins import create_plugin_manager, provider_infos


def _providers(args: argparse.Namespace) -> int:
    infos = provider_infos(args.plugin_manager)
    if args.json:
        payload = [
            {
                "name": info.name,
                "display_name": info.display_name,
                "description": info.description,
                "version": info.version,
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
        if info.description:
            print(f"  {info.description}")
        for key, value in caps.items():
            print(f"  {key}: {value}")
        if info.settings:
            print("  settings (environment variables):")
            for setting, env in info.settings.items():
                print(f"    {setting}: {env}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    pm = create_plugin_manager()
    parser = argparse.ArgumentParser(prog="psp", description="Payment providers behind one interface.")
    parser.set_defaults(plugin_manager=pm, func=None)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    providers = subparsers.add_parser("providers", help="list installed providers and their capabilities")
    providers.add_argument("--json", action="store_true", help="print as JSON")
    providers.set_defaults(func=_providers)
    add_contract_command(subparsers)
    pm.hook.psp_cli_commands(subparsers=subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = args.func
    if func is None:
        parser.print_help()
        return 2
    try:
        return func(args)
    except PspError as error:
        print(f"psp: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
