"""PTL213: Trainer.add_argparse_args / from_argparse_args and friends (removed in 2.0)."""

from __future__ import annotations

import libcst as cst

from ..rule import Invalid, Rule, Valid

_HELPERS = {"add_argparse_args", "from_argparse_args", "parse_argparser", "get_init_arguments_and_types", "default_attributes", "match_env_arguments"}


class RemovedArgparseHelper(Rule):
    """
    ## What it does
    Flags `Trainer.add_argparse_args(parser)`, `Trainer.from_argparse_args(args)`,
    `Trainer.parse_argparser(...)` and the same helpers on LightningDataModule/LightningModule
    classes.

    ## Why is this bad?
    Lightning 2.0 removed the argparse utilities (`AttributeError`). Use `LightningCLI`, or add
    the arguments you need with `parser.add_argument` and pass them to `Trainer(...)`
    explicitly.

    There is no automatic fix: the replacement depends on which arguments the script uses.
    """

    code = "PTL213"
    name = "removed-argparse-helper"
    message = "the Lightning argparse helpers were removed in 2.0; use LightningCLI or explicit arguments"
    keywords = ("argparse_args", "parse_argparser", "get_init_arguments_and_types")
    applies_from = (2, 0)

    VALID = [
        Valid(
            """
            import argparse
            import pytorch_lightning as pl
            parser = argparse.ArgumentParser()
            parser.add_argument("--max_epochs", type=int, default=10)
            args = parser.parse_args()
            trainer = pl.Trainer(max_epochs=args.max_epochs)
            """
        )
    ]
    INVALID = [
        Invalid(
            """
            from argparse import ArgumentParser
            from pytorch_lightning import Trainer
            parser = ArgumentParser()
            parser = Trainer.add_argparse_args(parser)
            trainer = Trainer.from_argparse_args(parser.parse_args())
            """,
            line=4,
        )
    ]

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value not in _HELPERS:
            return
        qn = self.ctx.qualname(node.value)
        local = node.value.value if isinstance(node.value, cst.Name) else None
        info = self.ctx.classes.get(local) if local else None
        if qn in ("pl.Trainer", "pl.LightningDataModule", "pl.LightningModule") or (info is not None and info.kind):
            self.report(node, f"`{node.attr.value}` was removed in Lightning 2.0; use `LightningCLI` or explicit `argparse` arguments")
