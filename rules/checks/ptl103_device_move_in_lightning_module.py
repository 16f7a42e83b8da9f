"""PTL103: .cuda() / .to("cuda") / .to(device) inside a LightningModule."""

from __future__ import annotations

import libcst as cst

from ..cst_helpers import param_names, positional, string_value
from ..findings import UNSAFE
from ..lightning_facts import local_assignments
from ...api_knowledge import DEVICE_CONSTRUCTORS, dotted_name
from ..rule import Invalid, Rule, Valid

_SELF_DEVICE = cst.Attribute(cst.Name("self"), cst.Name("device"))


class DeviceMoveInLightningModule(Rule):
    """
    ## What it does
    Flags `.cuda()`, `.to("cuda")`, `.to(torch.device("cuda"))` and `.to(device)` (a device
    variable other than `self.device`) in the methods of a LightningModule.

    ## Why is this bad?
    Lightning moves the model and each batch to the right device itself. Hard-coded moves pin
    tensors to `cuda:0`, which breaks CPU, MPS and TPU runs and multi-GPU training
    ("Expected all tensors to be on the same device"). Create tensors with
    `device=self.device` (or `.to(self.device)`, or `type_as`), and register constant tensors
    as buffers in `__init__`.

    A device that is a parameter of the method (`def to_device(self, x, device)`) is the
    caller's choice and is not flagged.

    ## Fix safety
    Outside `__init__`, `.cuda()` / `.to("cuda")` / `.to(device)` become `.to(self.device)`.
    This is unsafe: it changes the device on a CPU-only run (which is the point) and the
    variable may have meant a different device on purpose. In `__init__` there is no fix
    (`self.device` is still the CPU there; use a buffer).
    """

    code = "PTL103"
    name = "device-move-in-lightning-module"
    message = "hard-coded device move in a LightningModule; Lightning places tensors itself"
    keywords = (".cuda(", ".to(")
    fix_safety = UNSAFE

    VALID = [
        Valid(
            """
            import torch
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def export(self, path, device):
                    self.to(device)
                def training_step(self, batch, batch_idx):
                    noise = torch.randn(4, device=self.device)
                    mask = self.mask.to(self.device)
                    x = batch[0].to(torch.float32)
                    return self.model(x + noise).sum()
            """
        ),
        Valid(
            """
            import torch
            device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
            model = Net().to(device)
            """
        ),
    ]
    INVALID = [
        Invalid(
            """
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def training_step(self, batch, batch_idx):
                    x, y = batch
                    x = x.cuda()
                    return self.loss(self(x), y)
            """,
            fixed="""
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def training_step(self, batch, batch_idx):
                    x, y = batch
                    x = x.to(self.device)
                    return self.loss(self(x), y)
            """,
            line=5,
        ),
        Invalid(
            """
            import torch
            import pytorch_lightning as pl
            device = torch.device("cuda")
            class Net(pl.LightningModule):
                def validation_step(self, batch, batch_idx):
                    x, y = batch[0].to(device), batch[1].to("cuda:0")
                    self.log("val_loss", self.loss(self(x), y))
            """,
            fixed="""
            import torch
            import pytorch_lightning as pl
            device = torch.device("cuda")
            class Net(pl.LightningModule):
                def validation_step(self, batch, batch_idx):
                    x, y = batch[0].to(self.device), batch[1].to(self.device)
                    self.log("val_loss", self.loss(self(x), y))
            """,
        ),
        Invalid(
            """
            import torch
            import pytorch_lightning as pl
            class Net(pl.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.weights = torch.ones(10).cuda()
            """
        ),
    ]

    def _device_arg(self, node: cst.Call) -> str | None:
        """Why ``x.to(<arg>)`` names a hard-coded device, or None."""
        args = positional(node)
        arg = args[0].value if args else None
        if arg is None:
            for a in node.args:
                if a.keyword is not None and a.keyword.value == "device":
                    arg = a.value
        if arg is None:
            return None
        text = string_value(arg)
        if text is not None:
            return f'`.to("{text}")`' if text.startswith(("cuda", "mps", "xla")) else None
        if isinstance(arg, cst.Call) and self.ctx.call_name(arg) in DEVICE_CONSTRUCTORS:
            inner = positional(arg)
            value = string_value(inner[0].value) if inner else None
            return "`.to(torch.device(...))`" if value is None or value.startswith("cuda") else None
        dotted = dotted_name(arg)
        if dotted is None or dotted == "self.device" or dotted.endswith(".device") and dotted.startswith("self."):
            return None
        function = self.ctx.function_stack[-1].node if self.ctx.function_stack else None
        if function is not None and dotted.split(".")[0] in param_names(function):
            return None  # the caller chose the device
        if function is not None and "." not in dotted:
            origin = local_assignments(function).get(dotted)
            if origin is not None and dotted_name(origin) == "self.device":
                return None  # saved from self.device, to restore it
        last = dotted.rsplit(".", 1)[-1].lower()
        if "device" in last or last in ("dev", "cuda", "gpu"):
            return f"`.to({dotted})`"
        return None

    def visit_Call(self, node: cst.Call) -> None:
        if not isinstance(node.func, cst.Attribute) or self.ctx.lightning_method("module") is None:
            return
        attr = node.func.attr.value
        if attr == "cuda":
            what = "`.cuda()`"
        elif attr == "to":
            what = self._device_arg(node)
            if what is None:
                return
        else:
            return
        message = f"{what} in a LightningModule hard-codes the device; use `self.device` (Lightning moves modules and batches itself)"
        fix = None
        if self.ctx.method.name != "__init__":
            new = node.with_changes(func=node.func.with_changes(attr=cst.Name("to")), args=[cst.Arg(_SELF_DEVICE)])
            fix = self.fix(UNSAFE, "Use `.to(self.device)`", {node: new})
        self.report(node, message, fix)
