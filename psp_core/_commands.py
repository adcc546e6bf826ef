"""The object a plugin's ``psp_cli_commands`` hook receives, and the commands it collects.

Plugins never see argparse's parsers: they describe a command (its name, help, options, the
function that runs it, and the extra it needs) and psp builds the parsers. Every command sits
under its owner, so two plugins can never claim the same name:

- ``psp sandbox PROVIDER``: serve a provider's sandbox (:meth:`CommandLine.add_sandbox`);
- ``psp demo [PROVIDER]``: play a provider's demo; without a provider, every demo
  (:meth:`CommandLine.add_demo`);
- ``psp demo --FLAG``: something else to run instead of the demos, such as a demo shop
  (:meth:`CommandLine.add_demo_flag`);
- ``psp OWNER COMMAND``: anything else a plugin offers (:meth:`CommandLine.add_command`).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterable, Sequence

import attrs

from ._errors import ConfigurationError

Run = Callable[[argparse.Namespace], int]
"""A command's function: the parsed options (as ``argparse.Namespace`` attributes named after
each option's long flag) in, the exit code out."""

CORE_COMMANDS = frozenset({"providers", "contract", "sandbox", "demo"})
"""Names psp's own commands take; no plugin may own a command group of these names."""

_NAME = re.compile(r"[a-z][a-z0-9_-]*")


@attrs.frozen
class Option:
    """One option (``--port``, ``-v/--verbose``) or positional argument (``name``) of a command.

    ``flag=True`` makes an option that takes no value and is True when given. ``type``
    converts the text (``int``, or a function raising ``argparse.ArgumentTypeError`` with a
    message saying what is allowed).
    """

    names: tuple[str, ...]
    help: str
    default: object = None
    type: Callable[[str], object] | None = None
    flag: bool = False
    metavar: str | None = None
    choices: tuple[str, ...] | None = None

    def __attrs_post_init__(self) -> None:
        if not self.names or not all(isinstance(name, str) and name for name in self.names):
            raise ConfigurationError(
                f"an Option needs at least one name such as '--port', got {self.names!r}"
            )
        if self.flag and not self.names[0].startswith("-"):
            raise ConfigurationError(
                f"option {self.names[0]!r}: only an option starting with '-' can be a flag"
            )

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        if self.flag:
            parser.add_argument(*self.names, action="store_true", help=self.help)
            return
        kwargs: dict[str, object] = {"help": self.help}
        if self.names[0].startswith("-"):
            kwargs["default"] = self.default
        if self.type is not None:
            kwargs["type"] = self.type
        if self.metavar is not None:
            kwargs["metavar"] = self.metavar
        if self.choices is not None:
            kwargs["choices"] = self.choices
        parser.add_argument(*self.names, **kwargs)  # type: ignore[arg-type]


@attrs.frozen
class Command:
    """A plugin's command as psp keeps it: who owns it, what it is called, what it runs."""

    owner: str
    name: str
    words: str
    """The command as typed after ``psp`` (``sandbox acme``, ``audit report``)."""
    run: Run
    help: str
    description: str = ""
    options: tuple[Option, ...] = ()
    extra: str | None = None
    """The requirement that brings the modules below, as pip takes it (``"psp[sandbox]"``)."""
    extra_modules: frozenset[str] = frozenset()
    """Top-level modules that, when missing, mean ``extra`` is not installed."""

    def add_to(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
        parser = subparsers.add_parser(name, help=self.help, description=self.description or self.help)
        for option in self.options:
            option.add_to(parser)
        parser.set_defaults(func=self.run, command_words=self.words, extra=self.extra_needed())

    def extra_needed(self) -> tuple[str, frozenset[str]] | None:
        return (self.extra, self.extra_modules) if self.extra is not None else None


class CommandLine:
    """Where a plugin adds its commands; handed to the ``psp_cli_commands`` hook.

    Each ``add_*`` method takes the owner (a provider's name, or an observer plugin's) first.
    A name that is not a registered plugin's, or a second command under the same owner and
    name, raises :class:`~psp_core.ConfigurationError`, so no plugin can take another's place.
    """

    def __init__(self, plugin_names: Iterable[str]) -> None:
        self._plugin_names = frozenset(plugin_names)
        self.sandboxes: dict[str, Command] = {}
        self.demos: dict[str, Command] = {}
        self.demo_flags: dict[str, Command] = {}
        self.commands: dict[str, dict[str, Command]] = {}

    def add_sandbox(
        self,
        provider: str,
        run: Run,
        *,
        help: str,
        description: str = "",
        options: Sequence[Option] = (),
        extra: str | None = None,
        extra_modules: Iterable[str] = (),
    ) -> None:
        """Offer ``psp sandbox PROVIDER``: serve the provider's sandbox until Ctrl-C."""
        words = f"sandbox {provider}"
        command = self._command(
            provider, "sandbox", words, run, help, description, options, extra, extra_modules
        )
        self._claim(self.sandboxes, provider, command)

    def add_demo(
        self,
        provider: str,
        run: Run,
        *,
        help: str,
        description: str = "",
        options: Sequence[Option] = (),
        extra: str | None = None,
        extra_modules: Iterable[str] = (),
    ) -> None:
        """Offer ``psp demo PROVIDER``; ``psp demo`` alone runs every provider's demo.

        Every option needs a default, because ``psp demo`` alone runs the demo without any;
        a positional argument is refused.
        """
        positional = [option.names[0] for option in options if not option.names[0].startswith("-")]
        if positional:
            raise ConfigurationError(
                f"the demo of {provider!r} takes the positional argument(s) {positional}; `psp demo` runs "
                "every demo without arguments, so make them options with defaults (--name)"
            )
        words = f"demo {provider}"
        command = self._command(
            provider, "demo", words, run, help, description, options, extra, extra_modules
        )
        self._claim(self.demos, provider, command)

    def add_demo_flag(
        self,
        owner: str,
        flag: Option,
        run: Run,
        *,
        extra: str | None = None,
        extra_modules: Iterable[str] = (),
    ) -> None:
        """Offer ``psp demo --FLAG``: ``run`` runs instead of the demos when the flag is given.

        ``flag`` must be an :class:`Option` with ``flag=True`` whose first name is the long
        flag (``--shop``); its help is what ``psp demo --help`` shows. Each flag has one owner.
        """
        if not flag.flag or not flag.names[0].startswith("--"):
            raise ConfigurationError(
                f"psp demo {flag.names[0]}: a demo flag is an Option(flag=True) whose first name "
                "starts with '--'"
            )
        words = f"demo {flag.names[0]}"
        command = self._command(
            owner, "demo", words, run, flag.help, "", (flag,), extra, extra_modules
        )
        self._claim(self.demo_flags, flag.names[0], command)

    def add_command(
        self,
        owner: str,
        name: str,
        run: Run,
        *,
        help: str,
        description: str = "",
        options: Sequence[Option] = (),
        extra: str | None = None,
        extra_modules: Iterable[str] = (),
    ) -> None:
        """Offer ``psp OWNER NAME``: a command of the plugin registered as ``owner``."""
        if owner in CORE_COMMANDS:
            raise ConfigurationError(
                f"a plugin named {owner!r} cannot own commands: `psp {owner}` is one of psp's own "
                f"({', '.join(sorted(CORE_COMMANDS))}); register the plugin under another name"
            )
        words = f"{owner} {name}"
        command = self._command(owner, name, words, run, help, description, options, extra, extra_modules)
        self._claim(self.commands.setdefault(owner, {}), name, command)

    def _command(
        self,
        owner: str,
        name: str,
        words: str,
        run: Run,
        help: str,
        description: str,
        options: Sequence[Option],
        extra: str | None,
        extra_modules: Iterable[str],
    ) -> Command:
        if owner not in self._plugin_names:
            raise ConfigurationError(
                f"a command for {owner!r} was added, but no plugin is registered under that name "
                f"(registered: {', '.join(sorted(self._plugin_names)) or 'none'}); add commands under "
                "your plugin's own name"
            )
        if not _NAME.fullmatch(name):
            raise ConfigurationError(
                f"{name!r} is not a command name; use lower-case letters, digits, '-' and '_'"
            )
        return Command(
            owner=owner,
            name=name,
            words=words,
            run=run,
            help=help,
            description=description,
            options=tuple(options),
            extra=extra,
            extra_modules=frozenset(extra_modules),
        )

    @staticmethod
    def _claim(table: dict[str, Command], key: str, command: Command) -> None:
        if key in table:
            raise ConfigurationError(
                f"`psp {command.words}` was added twice; a plugin adds each of its commands once"
            )
        table[key] = command
