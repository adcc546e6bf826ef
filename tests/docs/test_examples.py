"""Every Python example in README.md and docs/*.md runs as written.

Convention (also stated in docs/plugin_authors.md): a block fenced as ```` ```python ```` runs;
the blocks of one file run in order, in one namespace, so a later block uses what an earlier
one built. A Python block that is not meant to run (a fragment of a plugin, a hook body) is
fenced ```` ```python no-run ````: it still renders as Python, and the tag says it is not
executed. Shell, TOML, JSON and text blocks never run.

The examples run as a host runs them: the local PPRO sandbox is served on 127.0.0.1 in this
process (``psp sandbox`` does the same), and the ``PPRO_*`` environment variables point the
``amazon_pay`` plugin at it, exactly as docs/sandbox.md tells a developer to set them.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from psp_core._cli import build_parser
from psp_ppro.sandbox import Sandbox, SandboxConfig, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
NO_RUN = "no-run"
# "Use it sparingly": an example that cannot run is an example that can silently go wrong.
MOST_NO_RUN_BLOCKS = 4

SANDBOX_ENV = {
    "PPRO_API_KEY": "key_sandbox_local",
    "PPRO_MERCHANT_ID": "merch_sandbox",
    "PPRO_WEBHOOK_SECRET": "whsec_sandbox",
}


@attrs.frozen
class Block:
    document: Path
    line: int
    info: tuple[str, ...]
    code: str

    @property
    def runs(self) -> bool:
        return self.info[:1] == ("python",) and NO_RUN not in self.info[1:]

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def blocks(document: Path) -> list[Block]:
    text = document.read_text(encoding="utf-8")
    return [
        Block(document, text.count("\n", 0, match.start()) + 1, tuple(match.group(1).split()), match.group(2))
        for match in FENCE.finditer(text)
    ]


@pytest.fixture
def local_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """The PPRO sandbox served on a free loopback port, and the environment pointing at it."""
    running = serve_in_thread(Sandbox(SandboxConfig(seed=7)), "127.0.0.1", 0)
    try:
        for name, value in SANDBOX_ENV.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("PPRO_BASE_URL", running.base_url)
        for name in ("PPRO_SEPARATE_CAPTURES", "PPRO_TIMEOUT_S", "PPRO_LEGACY_WEBHOOK_SIGNATURE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
        yield running.base_url
    finally:
        running.stop()


@pytest.mark.loopback
@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_python_example_runs_as_written(document: Path, local_sandbox: str) -> None:
    namespace: dict[str, object] = {"__name__": f"docs_example_{document.stem}"}
    ran = 0
    for block in blocks(document):
        if not block.runs:
            continue
        try:
            exec(compile(block.code, block.where, "exec"), namespace)  # noqa: S102 - our own docs
        except Exception as error:
            raise AssertionError(
                f"the example at {block.where} fails: {type(error).__name__}: {error}"
            ) from error
        ran += 1
    python_blocks = [b for b in blocks(document) if b.info[:1] == ("python",)]
    assert ran == len([b for b in python_blocks if b.runs])


def test_the_documents_are_found_and_have_examples() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in DOCUMENTS}
    assert {"README.md", "docs/amazon_pay.md", "docs/plugin_authors.md", "docs/sandbox.md"} <= names
    runnable = [block for path in DOCUMENTS for block in blocks(path) if block.runs]
    assert len(runnable) >= 15, [block.where for block in runnable]


def test_blocks_that_do_not_run_are_few_and_tagged_the_one_way() -> None:
    every = [block for path in DOCUMENTS for block in blocks(path)]
    skipped = [block.where for block in every if block.info[:1] == ("python",) and not block.runs]
    assert len(skipped) <= MOST_NO_RUN_BLOCKS, skipped
    # Only the documented tag: a typo such as "norun" would silently run or silently skip.
    odd = [
        block.where
        for block in every
        if block.info[:1] == ("python",) and block.info[1:] not in [(), (NO_RUN,)]
    ]
    assert not odd, odd
    # "py" and "python3" fences would escape the convention in either direction.
    assert not [block.where for block in every if block.info[:1] in [("py",), ("python3",), ("pycon",)]]


def _options(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, list[str]]:
    """Each command, nested ones too (``sandbox amazon_pay``), and its option strings."""
    found: dict[str, list[str]] = {}
    for action in parser._actions:  # argparse exposes no public walk of its commands
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                words = f"{prefix}{name}"
                found[words] = [
                    option
                    for sub in command._actions
                    for option in sub.option_strings
                    if option.startswith("--") and option != "--help"
                ]
                found.update(_options(command, f"{words} "))
    return found


def test_the_readme_lists_every_command_and_option_of_the_cli() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Command line") :]
    section = section[: section.index("\n## ", 1)] if "\n## " in section[1:] else section
    assert "--help" in section and "psp --version" in section
    missing = [
        f"psp {command} {option}"
        for command, options in _options(build_parser()).items()
        for option in options
        if option not in section
    ]
    commands = [command for command in _options(build_parser()) if f"psp {command}" not in section]
    assert not commands, f"commands missing from the README's Command line section: {commands}"
    assert not missing, f"options missing from the README's Command line section: {missing}"


def test_the_readmes_install_section_names_every_extra_a_host_installs() -> None:
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Install") :]
    section = section[: section.index("\n## ", 1)]
    # `test` is the project's own development extra, not one a host installs.
    missing = [name for name in extras if name != "test" and f'pip install "psp[{name}]"' not in section]
    assert not missing, f"extras missing from the README's Install section: {missing}"
