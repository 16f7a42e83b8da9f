"""Qualified names from a module's imports: a cheap alias table instead of full scope analysis.

``import torch.utils.data as tud; tud.DataLoader`` resolves to ``torch.utils.data.DataLoader``;
``import lightning as L; L.Trainer``, ``from pytorch_lightning import Trainer`` and
``lightning.pytorch.Trainer`` all resolve to the canonical ``pl.Trainer``. The two Lightning
families (``pytorch_lightning`` and ``lightning.pytorch``) are mirror copies of one API, so rules
match one canonical spelling, ``pl.<path>`` (and ``fabric.<path>`` for Fabric).
"""

from __future__ import annotations

from typing import Any

#: import prefixes -> canonical prefix (longest first)
_FAMILIES: tuple[tuple[str, str], ...] = (
    ("lightning.pytorch", "pl"),
    ("pytorch_lightning", "pl"),
    ("lightning.fabric", "fabric"),
    ("lightning_fabric", "fabric"),
)
#: names the top-level ``lightning`` package re-exports from ``lightning.pytorch``
_LIGHTNING_TOP = {"Trainer", "LightningModule", "LightningDataModule", "Callback", "seed_everything"}

#: other spellings of the same object -> the one rules match
_ALIASES = {
    "pl.core.module.LightningModule": "pl.LightningModule",
    "pl.core.lightning.LightningModule": "pl.LightningModule",
    "pl.core.LightningModule": "pl.LightningModule",
    "pl.core.datamodule.LightningDataModule": "pl.LightningDataModule",
    "pl.core.LightningDataModule": "pl.LightningDataModule",
    "pl.trainer.trainer.Trainer": "pl.Trainer",
    "pl.trainer.Trainer": "pl.Trainer",
    "pl.callbacks.callback.Callback": "pl.Callback",
    "pl.callbacks.base.Callback": "pl.Callback",
    "pl.callbacks.Callback": "pl.Callback",
    "pl.callbacks.model_checkpoint.ModelCheckpoint": "pl.callbacks.ModelCheckpoint",
    "pl.callbacks.early_stopping.EarlyStopping": "pl.callbacks.EarlyStopping",
    "lightning.Fabric": "fabric.Fabric",
    "torch.utils.data.dataloader.DataLoader": "torch.utils.data.DataLoader",
    "torch.optim.lr_scheduler.ReduceLROnPlateau": "torch.optim.lr_scheduler.ReduceLROnPlateau",
}


def canonical(qualified: str) -> str:
    """Map a dotted import path to the spelling rules match (see the module docstring)."""
    for prefix, canon in _FAMILIES:
        if qualified == prefix or qualified.startswith(prefix + "."):
            qualified = canon + qualified[len(prefix) :]
            break
    else:
        if qualified.startswith("lightning."):
            head = qualified.split(".", 2)[1]
            if head in _LIGHTNING_TOP:
                qualified = "pl." + qualified[len("lightning.") :]
    return _ALIASES.get(qualified, qualified)


def family(module: str) -> str | None:
    """``"pytorch_lightning"`` or ``"lightning"`` for an import of either Lightning family."""
    top = module.split(".", 1)[0]
    if top in ("pytorch_lightning", "lightning_fabric"):
        return "pytorch_lightning"
    if top == "lightning":
        return "lightning"
    return None


def dotted_name(node: Any) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    import libcst as cst

    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


class ImportTable:
    """Local name -> fully qualified import path, built from ``import`` statements."""

    def __init__(self) -> None:
        self.bindings: dict[str, str] = {}
        self.star_modules: list[str] = []

    def add_import(self, node: Any) -> None:
        """Record a libcst ``Import`` or ``ImportFrom`` node."""
        import libcst as cst

        if isinstance(node, cst.Import):
            for alias in node.names:
                full = dotted_name(alias.name)
                if full is None:
                    continue
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.bindings[alias.asname.name.value] = full
                else:
                    top = full.split(".", 1)[0]
                    self.bindings[top] = top
        elif isinstance(node, cst.ImportFrom):
            if node.relative or node.module is None:
                return
            module = dotted_name(node.module)
            if module is None:
                return
            if isinstance(node.names, cst.ImportStar):
                self.star_modules.append(module)
                return
            for alias in node.names:
                name = dotted_name(alias.name)
                if name is None:
                    continue
                local = name
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                self.bindings[local] = f"{module}.{name}"

    def resolve(self, node: Any) -> str | None:
        """The canonical qualified name of a Name/Attribute expression, or None if unknown."""
        dotted = dotted_name(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        full = self.bindings.get(head)
        if full is None:
            for module in self.star_modules:
                if family(module) is not None:
                    full = f"{module}.{head}"
                    break
            else:
                return None
        return canonical(f"{full}.{rest}" if rest else full)

    def mentions_family(self) -> set[str]:
        """The Lightning import families this file uses."""
        families = {family(v) for v in self.bindings.values()} | {family(m) for m in self.star_modules}
        families.discard(None)
        return families  # type: ignore[return-value]
