"""The ``pl-convert`` command line.

``pl-convert SCRIPT.py`` converts a script (the default command); ``lint``, ``rules``, ``rule``,
``conversions``, ``conversion``, ``migrate`` and ``verify`` are subcommands. Each subcommand lives in the module that owns its
feature and is imported only when it is used, so that ``pl-convert lint one_file.py`` (a
pre-commit hook, on every commit) pays for nothing it does not run.
"""

from __future__ import annotations

import importlib
import sys

import click

from . import __version__

#: subcommand name -> "module:attribute" (relative to the pl_convert package)
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "convert": ("converter.command", "convert"),
    "lint": ("rules.command", "lint"),
    "rules": ("rules.command", "rules_table"),
    "rule": ("rules.command", "rule_doc"),
    "conversions": ("converter.command", "conversions_table"),
    "conversion": ("converter.command", "conversion_doc"),
    "verify": ("verify.command", "verify"),
    "migrate": ("migrate.command", "migrate"),
}

DEFAULT_COMMAND = "convert"
#: what users of other tools type, and the command they mean
ALIASES = {"check": "lint", "fix": "lint", "ruff": "lint", "convert-all": "migrate", "doc": "rule", "explain": "rule", "list-rules": "rules"}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use, with ``convert`` as the default.

    ``pl-convert train.py`` is ``pl-convert convert train.py``: any first argument that is not a
    subcommand name (or a group option) is taken as the start of a ``convert`` command line.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(LAZY_COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = LAZY_COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target
        module = importlib.import_module(f"{__package__}.{module_name}")
        return getattr(module, attribute)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        if args and args[0] not in LAZY_COMMANDS:
            _reject_mistyped_command(ctx, args[0])
            args = [DEFAULT_COMMAND, *args]
        return super().resolve_command(ctx, args)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # `pl-convert --diff train.py`: options that belong to convert, before any command name.
        if args and args[0].startswith("-") and args[0] not in ("--help", "-h", "--version"):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [
            ("convert", "Convert a PyTorch script to Lightning (the default: pl-convert SCRIPT.py)."),
            ("lint", "Check Lightning code for best-practice and 1.x → 2.x problems."),
            ("rules", "List every lint rule."),
            ("rule", "Show one rule's documentation."),
            ("conversions", "List every conversion idiom (what each torch pattern becomes)."),
            ("conversion", "Show one conversion idiom's documentation."),
            ("migrate", "Migrate a whole codebase, with a report."),
            ("verify", "Train original and converted on MNIST and compare the results."),
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _reject_mistyped_command(ctx: click.Context, word: str) -> None:
    """``pl-convert lnt x.py`` is a typo of ``lint``, not a script named ``lnt`` to convert:
    a first argument that is no existing path and looks like a word (no ``.``, no ``/``) gets
    the nearest command suggested (exit 2)."""
    import os

    if word.startswith("-") or os.path.exists(word) or "." in word or "/" in word or os.sep in word:
        return
    import difflib

    target = ALIASES.get(word.lower())
    if target is None:
        close = difflib.get_close_matches(word.lower(), [*LAZY_COMMANDS, *ALIASES], n=1, cutoff=0.6)
        target = ALIASES.get(close[0], close[0]) if close else None
    hint = f"; did you mean `pl-convert {target}`?" if target else f" (commands: {', '.join(sorted(LAZY_COMMANDS))})"
    click.echo(f"pl-convert: error: `{word}` is neither a command nor a file{hint}", err=True)
    ctx.exit(2)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    invoke_without_command=False,
)
@click.version_option(__version__, "--version", "-V", prog_name="pl-convert")
def cli() -> None:
    """Convert plain PyTorch training scripts to PyTorch Lightning, lint Lightning code, and
    verify that a conversion trains the same.

    \b
      pl-convert train.py              write train_lightning.py next to it
      pl-convert train.py --diff       show the diff, write nothing
      pl-convert lint src/             lint Lightning code
      pl-convert migrate repo/ --out migrated/
      pl-convert verify train.py       train both versions and compare
    """


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point. Returns the exit code instead of raising SystemExit."""
    try:
        cli.main(args=argv, prog_name="pl-convert", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        return code if isinstance(code, int) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
