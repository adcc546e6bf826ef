"""The ``psp`` command line.

The core provides ``psp providers``, ``psp contract``, ``psp reconcile``, ``psp sandbox PROVIDER``, ``psp demo
[PROVIDER]`` and ``psp --version``; plugins fill in the sandboxes and demos, and add commands
of their own under their name, through the ``psp_cli_commands`` hook (see
:class:`~psp_core.CommandLine`). A command whose extra is not installed says which one in one
line and exits 2.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import math
import os
import sys
from collections.abc import Callable, Sequence

from ._commands import Command, CommandLine
from ._contract_cli import add_contract_command
from ._errors import PspError
from ._plugins import (
    PLUGINS_ENTRY_POINT_GROUP,
    create_plugin_manager,
    load_providers,
    observer_names,
    plugin_distributions,
    provider_infos,
)

DISTRIBUTION = "psp"

EXIT_USAGE = 2


def distribution_version(name: str = DISTRIBUTION) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed as a distribution)"


def _providers(args: argparse.Namespace) -> int:
    infos = provider_infos(args.plugin_manager)
    observers = observer_names(args.plugin_manager)
    distributions = plugin_distributions(args.plugin_manager)
    if args.json:
        payload: list[dict[str, object]] = [
            {
                "name": info.name,
                "kind": "provider",
                "display_name": info.display_name,
                "description": info.description,
                "version": info.version,
                "distribution": _distribution_json(distributions.get(info.name)),
                "capabilities": info.capabilities.to_dict(),
                "settings": dict(info.settings),
            }
            for info in infos
        ]
        payload += [
            {"name": name, "kind": "observer", "distribution": _distribution_json(distributions.get(name))}
            for name in observers
        ]
        print(json.dumps(payload, indent=2))
        return 0
    if not infos:
        print("No providers installed. Install a psp provider package (entry-point group psp_providers).")
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
    if observers:
        print(f"observer plugins (entry-point group {PLUGINS_ENTRY_POINT_GROUP}):")
        for name in observers:
            dist = distributions.get(name)
            print(f"  {name}  " + (f"{dist[0]} {dist[1]}" if dist else "registered by hand"))
    return 0


def _distribution_json(dist: tuple[str, str] | None) -> dict[str, str] | None:
    return {"name": dist[0], "version": dist[1]} if dist else None


def build_parser() -> argparse.ArgumentParser:
    pm = create_plugin_manager()
    load_providers(pm)  # every plugin's commands, providers' too
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
    _add_reconcile_command(subparsers)
    cli = CommandLine(name for name, _ in pm.list_name_plugin() if name is not None)
    pm.hook.psp_cli_commands(cli=cli)
    _add_sandbox_command(subparsers, cli.sandboxes)
    _add_demo_command(subparsers, cli.demos, cli.demo_flags)
    for owner, commands in sorted(cli.commands.items()):
        group = subparsers.add_parser(owner, help=f"commands of the {owner} plugin")
        group.set_defaults(func=_usage_of(group))
        own = group.add_subparsers(title="commands", metavar="COMMAND")
        for name, command in sorted(commands.items()):
            command.add_to(own, name)
    return parser


def _add_reconcile_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "reconcile",
        help="settle the payment store's journal entries a crash left open (needs psp[store])",
        description="Settle every journal entry without an outcome, older than the grace period: "
        "replay it with its idempotency key, or find the payment by its merchant reference. "
        "Safe to run concurrently and repeatedly. See docs/store.md.",
    )
    parser.add_argument(
        "--store", required=True, metavar="URL", help="the store: a path, sqlite:///PATH or postgresql://..."
    )
    parser.add_argument(
        "--grace", type=_seconds, default=60.0, metavar="SECONDS", help="skip younger entries (default 60)"
    )
    parser.add_argument(
        "--no-replay",
        action="store_true",
        help="read payments instead of replaying (for a provider without idempotent replays)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def run(args: argparse.Namespace) -> int:
        from psp_store._cli import run as run_reconcile  # the extra's modules load only here

        return run_reconcile(args)

    parser.set_defaults(
        func=run, command_words="reconcile", extra=("psp[store]", frozenset({"sqlalchemy", "psycopg"}))
    )


def _seconds(text: str) -> float:
    """A finite, non-negative number of seconds (argparse names the option in its error)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds; use 0 or more, e.g. 60")
    return value


def _usage_of(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def usage(args: argparse.Namespace) -> int:
        parser.print_help()
        return EXIT_USAGE

    return usage


def _add_sandbox_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], sandboxes: dict[str, Command]
) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="serve a provider's sandbox on this machine: psp sandbox PROVIDER",
        description="Serve the named provider's sandbox until Ctrl-C. `psp sandbox PROVIDER --help` "
        "lists that sandbox's options.",
    )
    parser.set_defaults(func=_usage_of(parser))
    providers = parser.add_subparsers(title="providers with a sandbox", metavar="PROVIDER")
    for name, command in sorted(sandboxes.items()):
        command.add_to(providers, name)


def _demo_flag_given(args: argparse.Namespace, flag: Command) -> bool:
    return bool(getattr(args, flag.options[0].names[0].lstrip("-").replace("-", "_"), False))


def _refuse_flags_with(
    provider: str, run: Callable[[argparse.Namespace], int], flags: dict[str, Command]
) -> Callable[[argparse.Namespace], int]:
    """``psp demo --FLAG PROVIDER`` is a usage error: a demo flag replaces the demos, so one must go."""

    def guarded(args: argparse.Namespace) -> int:
        given = [name for name, flag in sorted(flags.items()) if _demo_flag_given(args, flag)]
        if given:
            print(
                f"psp demo: error: {given[0]} and a provider ({provider}) cannot be combined: "
                f"`psp demo {given[0]}` runs instead of the demos; drop {given[0]} to play the "
                f"{provider} demo, or drop {provider} to run `psp demo {given[0]}`",
                file=sys.stderr,
            )
            return EXIT_USAGE
        return run(args)

    return guarded


def _add_demo_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    demos: dict[str, Command],
    flags: dict[str, Command],
) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="play a provider's demo against its local sandbox: psp demo [PROVIDER]",
        description="Play the named provider's demo, or every installed provider's demo one after "
        "another. `psp demo PROVIDER --help` lists that demo's options.",
    )
    for command in flags.values():
        command.options[0].add_to(parser)
    providers = parser.add_subparsers(title="providers with a demo", metavar="PROVIDER")
    parsers = {}
    for name, command in sorted(demos.items()):
        command.add_to(providers, name)
        parsers[name] = providers.choices[name]
        parsers[name].set_defaults(func=_refuse_flags_with(name, command.run, flags))

    def every_demo(args: argparse.Namespace) -> int:
        for command in flags.values():
            if _demo_flag_given(args, command):
                args.func, args.command_words, args.extra = command.run, command.words, command.extra_needed()
                return _run_command(args)
        if not parsers:
            print("No installed provider ships a demo.")
            return 0
        # Every demo whose extra is installed plays; one whose extra is missing is named in one
        # line and skipped, so a host with only psp[sandbox] still sees the demos it can run.
        codes, skipped = [], []
        for name, demo_parser in parsers.items():
            missing = _missing_module(demos[name].extra_needed())
            if missing is not None:
                skipped.append((demos[name], missing))
                continue
            codes.append(_run_command(demo_parser.parse_args([])))
        for command, module in skipped:
            extra = command.extra
            print(
                f"psp: skipped `psp {command.words}`: it needs the {extra} extra ({module} is not "
                f'installed); install it with: pip install "{extra}"',
                file=sys.stderr,
            )
        return max(codes) if codes else EXIT_USAGE

    parser.set_defaults(func=every_demo, command_words="demo")


def _missing_module(needed: tuple[str, frozenset[str]] | None) -> str | None:
    """The first module of a command's declared extra that is not installed, if any."""
    if needed is None:
        return None
    for module in sorted(needed[1]):
        if importlib.util.find_spec(module) is None:
            return module
    return None


def missing_extra(args: argparse.Namespace, error: ModuleNotFoundError) -> str | None:
    """The extra the running command declared for the module ``error`` is about, if any."""
    declared: tuple[str, frozenset[str]] | None = getattr(args, "extra", None)
    root = (error.name or "").partition(".")[0]
    if declared is None or root not in declared[1]:
        return None
    return declared[0]


def _run_command(args: argparse.Namespace) -> int:
    """Run the parsed command; a missing module of its declared extra becomes a one-line error."""
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except ModuleNotFoundError as error:
        extra = missing_extra(args, error)
        if extra is None:
            raise
        words = getattr(args, "command_words", None) or args.command
        print(
            f"psp: error: `psp {words}` needs the {extra} extra ({error.name} is not installed); "
            f'install it with: pip install "{extra}"',
            file=sys.stderr,
        )
        return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        func: Callable[[argparse.Namespace], int] | None = args.func
        if func is None:
            parser.print_help()
            return EXIT_USAGE
        try:
            code = _run_command(args)
            # Flushed here, so a reader that went away is met inside the handler below rather
            # than at interpreter exit, where Python prints a traceback-like complaint.
            sys.stdout.flush()
            return code
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
