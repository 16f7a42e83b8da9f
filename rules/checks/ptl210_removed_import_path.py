"""PTL210: import paths Lightning removed or moved (pytorch_lightning.core.lightning, ...)."""

from __future__ import annotations

import libcst as cst

from ..findings import SAFE
from ..lightning_api import REMOVED_IMPORTS
from ...api_knowledge import canonical, dotted_name
from ..rule import Invalid, Rule, Valid


def _module_expr(dotted: str) -> cst.BaseExpression:
    parts = dotted.split(".")
    node: cst.BaseExpression = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(node, cst.Name(part))
    return node


class RemovedImportPath(Rule):
    """
    ## What it does
    Flags imports from Lightning module paths that were removed or moved, such as
    `pytorch_lightning.core.lightning`, `pytorch_lightning.utilities.seed`,
    `pytorch_lightning.metrics`, `pytorch_lightning.profiler`,
    `pytorch_lightning.loggers.base`, `pytorch_lightning.plugins.DDPPlugin` or
    `pytorch_lightning.trainer.supporters` (in either the `pytorch_lightning` or the
    `lightning.pytorch` spelling).

    ## Why is this bad?
    They raise `ImportError`/`ModuleNotFoundError` on current Lightning. Only paths removed in
    or before the configured `target-version` are reported.

    ## Fix safety
    Safe for pure moves, where the same object lives at the new path
    (`from pytorch_lightning.core.lightning import LightningModule` →
    `from pytorch_lightning import LightningModule`); a renamed class is imported under its
    old local name (`from ...accelerators import CUDAAccelerator as GPUAccelerator`), so the
    rest of the file is untouched. Paths whose replacement has a different API
    (`pytorch_lightning.metrics` → torchmetrics, `LightningLite` → Fabric) get no fix.
    """

    code = "PTL210"
    name = "removed-import-path"
    message = "this Lightning import path was removed"
    keywords = ("lightning",)
    fix_safety = SAFE

    VALID = [
        Valid(
            """
            from pytorch_lightning import LightningModule, seed_everything
            from pytorch_lightning.utilities.rank_zero import rank_zero_only
            from lightning.pytorch.utilities.warnings import PossibleUserWarning
            """
        )
    ]
    INVALID = [
        Invalid(
            """
            from pytorch_lightning.core.lightning import LightningModule
            """,
            fixed="""
            from pytorch_lightning import LightningModule
            """,
            line=1,
        ),
        Invalid(
            """
            from lightning.pytorch.utilities.seed import seed_everything
            from pytorch_lightning.accelerators import GPUAccelerator
            """,
            fixed="""
            from lightning.pytorch import seed_everything
            from pytorch_lightning.accelerators import CUDAAccelerator as GPUAccelerator
            """,
        ),
        Invalid(
            """
            from pytorch_lightning.metrics import Accuracy
            """
        ),
        Invalid(
            """
            import pytorch_lightning.metrics.functional as FM
            """
        ),
    ]

    def _entry(self, module: str):
        canon = canonical(module)
        if not canon.startswith("pl."):
            return None, None
        rel = canon[3:]
        entry = REMOVED_IMPORTS.get(rel)
        if entry is None:
            for prefix, candidate in REMOVED_IMPORTS.items():
                if candidate[2] and rel.startswith(prefix + "."):
                    entry = candidate
                    break
        if entry is None or not self.ctx.config.targets(entry[0]):
            return None, None
        return rel, entry

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            module = dotted_name(alias.name)
            if module is None:
                continue
            rel, entry = self._entry(module)
            if entry is not None and entry[2]:
                self.report(alias, f"`{module}` was removed in Lightning {'.'.join(map(str, entry[0]))}")

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
            return
        module = dotted_name(node.module)
        if module is None:
            return
        rel, entry = self._entry(module)
        if entry is None:
            return
        version, moves, whole = entry
        version_text = ".".join(map(str, version))
        flagged = []
        for alias in node.names:
            name = dotted_name(alias.name)
            if whole or name in moves:
                flagged.append((alias, name, moves.get(name)))
        if not flagged:
            return
        fix = None
        family_prefix = module[: len(module) - len(rel)].rstrip(".")
        targets = {move[0] if move else None for _, _, move in flagged}
        if len(flagged) == len(node.names) and None not in [m for _, _, m in flagged] and len(targets) == 1:
            new_rel = targets.pop()
            new_module = family_prefix + ("." + new_rel if new_rel else "")
            names = []
            for alias, name, (_, new_name) in flagged:
                if new_name != name and alias.asname is None:
                    alias = alias.with_changes(
                        name=cst.Name(new_name),
                        asname=cst.AsName(cst.Name(name), whitespace_before_as=cst.SimpleWhitespace(" "), whitespace_after_as=cst.SimpleWhitespace(" ")),
                    )
                elif new_name != name:
                    alias = alias.with_changes(name=cst.Name(new_name))
                names.append(alias)
            fix = self.fix(SAFE, f"Import from `{new_module}`", {node: node.with_changes(module=_module_expr(new_module), names=names)})
        for alias, name, move in flagged:
            if move:
                new = ".".join(p for p in (family_prefix, move[0], move[1]) if p)
                message = f"`{module}.{name}` was removed in Lightning {version_text}; use `{new}`"
            else:
                message = f"`{module}.{name}` was removed in Lightning {version_text} and has no drop-in replacement"
            self.report(alias, message, fix)
            fix = None  # one fix per statement
