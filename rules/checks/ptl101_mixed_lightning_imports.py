"""PTL101: both `pytorch_lightning` and `lightning` imported in one file."""

from __future__ import annotations

import libcst as cst

from ..findings import UNSAFE
from ...api_knowledge import dotted_name, family
from ..rule import Invalid, Rule, Valid

#: module prefix rewrites between the two families
_TO_LIGHTNING = (("pytorch_lightning", "lightning.pytorch"), ("lightning_fabric", "lightning.fabric"))
_TO_PL = (("lightning.pytorch", "pytorch_lightning"), ("lightning.fabric", "lightning_fabric"))


def _module_expr(dotted: str) -> cst.BaseExpression:
    parts = dotted.split(".")
    node: cst.BaseExpression = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(node, cst.Name(part))
    return node


def _rewrite(module: str, to: str) -> str | None:
    for old, new in (_TO_LIGHTNING if to == "lightning" else _TO_PL):
        if module == old or module.startswith(old + "."):
            return new + module[len(old) :]
    return None


class MixedLightningImports(Rule):
    """
    ## What it does
    Flags a file that imports from both `pytorch_lightning` (or `lightning_fabric`) and
    `lightning` (`lightning.pytorch`, `lightning.fabric`).

    ## Why is this bad?
    The two packages are generated mirror copies of the same code, so
    `pytorch_lightning.LightningModule` and `lightning.pytorch.LightningModule` are different
    classes. Passing a module of one family to a Trainer of the other raises
    `TypeError: You passed a pytorch_lightning object ... to a lightning.pytorch Trainer`
    (2.1+), and callbacks or loggers of the wrong family are rejected the same way.

    ## Fix safety
    The fix rewrites the minority family's imports to the majority's
    (`from pytorch_lightning.callbacks import X` ↔ `from lightning.pytorch.callbacks import X`,
    `import pytorch_lightning as pl` ↔ `import lightning.pytorch as pl`). It is unsafe: a
    library the project depends on may be built on the other family. `import lightning as L`
    has no `pytorch_lightning` spelling and is not rewritten.
    """

    code = "PTL101"
    name = "mixed-lightning-imports"
    message = "this file imports both `pytorch_lightning` and `lightning`; use one package"
    keywords = ("pytorch_lightning", "lightning_fabric")
    fix_safety = UNSAFE

    VALID = [
        Valid(
            """
            import lightning as L
            from lightning.pytorch.callbacks import ModelCheckpoint
            """
        ),
        Valid(
            """
            import pytorch_lightning as pl
            from pytorch_lightning.callbacks import ModelCheckpoint
            from lightning_fabric.utilities.seed import seed_everything
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import lightning as L
            from lightning.pytorch.loggers import CSVLogger
            from pytorch_lightning.callbacks import ModelCheckpoint
            """,
            fixed="""
            import lightning as L
            from lightning.pytorch.loggers import CSVLogger
            from lightning.pytorch.callbacks import ModelCheckpoint
            """,
            line=3,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            from pytorch_lightning.callbacks import EarlyStopping
            import lightning.pytorch as lp
            """,
            fixed="""
            import pytorch_lightning as pl
            from pytorch_lightning.callbacks import EarlyStopping
            import pytorch_lightning as lp
            """,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            import lightning as L
            """
        ),
    ]

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.imports: list[tuple[str, cst.CSTNode, str]] = []  # (family, node, module)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            module = dotted_name(alias.name)
            fam = family(module or "")
            if fam:
                self.imports.append((fam, node, module))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.relative or node.module is None:
            return
        module = dotted_name(node.module)
        fam = family(module or "")
        if fam:
            self.imports.append((fam, node, module))

    def finish(self) -> None:
        families = [fam for fam, _, _ in self.imports]
        if len(set(families)) < 2:
            return
        counts = {fam: families.count(fam) for fam in set(families)}
        majority = max(counts, key=lambda fam: (counts[fam], -families.index(fam)))
        for fam, node, module in self.imports:
            if fam == majority:
                continue
            other = "lightning" if fam == "pytorch_lightning" else "pytorch_lightning"
            message = f"`{module}` mixes the `{fam}` package into a file that uses `{other}`; they are different copies of Lightning's classes"
            new_module = _rewrite(module, majority)
            fix = None
            if new_module is not None:
                if isinstance(node, cst.ImportFrom):
                    fix = self.fix(UNSAFE, f"Import from `{new_module}`", {node: node.with_changes(module=_module_expr(new_module))})
                elif len(node.names) == 1 and node.names[0].asname is not None:
                    alias = node.names[0].with_changes(name=_module_expr(new_module))
                    fix = self.fix(UNSAFE, f"Import `{new_module}`", {node: node.with_changes(names=[alias])})
            self.report(node, message, fix)
