"""What one instrumented training run recorded: written by the runner, read by the comparison.

The runner (a subprocess) writes a :class:`RunRecord` as JSON; the parent reads it back. It is
plain data, so the parent never needs torch to compare two runs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path


@dataclass
class RunRecord:
    """The observable result of training one script once."""

    #: value of every loss passed to ``Tensor.backward`` / ``torch.autograd.backward``, in order
    losses: list[float] = field(default_factory=list)
    #: sha256 over the trained parameters of every optimizer (dtype, shape and bytes, in order)
    final_params_sha256: str | None = None
    param_tensors: int = 0
    param_count: int = 0
    #: L2 norm of all trained parameters (float64), for comparisons with a tolerance
    params_l2: float | None = None
    optimizers: int = 0
    optimizer_steps: int = 0
    #: the device the trained parameters ended on ("cpu", "cuda:0", ...)
    device: str | None = None
    #: accuracy (percent) of the trained model on the script's own MNIST test set, evaluated
    #: by the runner after the script ended; None when it could not be measured
    test_accuracy: float | None = None
    test_accuracy_note: str | None = None
    #: Lightning's ``trainer.callback_metrics`` after each fit/validate/test (floats only)
    logged_metrics: dict[str, float] = field(default_factory=dict)
    #: Lightning Trainer settings that change numbers (sanity steps, max_epochs, accumulation,
    #: scheduler intervals, the checkpoint trainer.test loaded); empty for a plain script
    lightning: dict = field(default_factory=dict)
    #: lines printed by the script's own code (not Lightning's or a library's), in order:
    #: ``[text, steps recorded when printed, stream ("out"/"err")]``
    printed: list[list] = field(default_factory=list)
    printed_truncated: int = 0  #: lines beyond the recording limit (counted, not kept)
    #: values logged by the script: ``self.log``/``log_dict`` of a LightningModule and
    #: ``SummaryWriter.add_scalar`` called from the script's code: ``{"key", "value", "step",
    #: "via" ("self.log"/"add_scalar"), "stage", "hook"}``; ``value`` None when not a scalar
    logged: list[dict] = field(default_factory=list)
    #: values of the converter's logged metrics (``ConversionResult.metrics``) as this run's code
    #: computed them, one per time the evaluation ran: ``{"key", "value", "step", "error"}``
    computed: list[dict] = field(default_factory=list)
    #: Lightning Trainer calls, in order: ``{"call": "fit"/"validate"/"test", "returned": [{key: value}]}``
    trainer_calls: list[dict] = field(default_factory=list)
    #: backward calls made through ``LightningModule.backward`` (automatic optimization and
    #: ``manual_backward`` both end there) and the number of ``training_step`` calls
    #: epochs trained: how many times the training data loader (the one iterated when the first
    #: backward ran) was iterated; None when nothing was trained from a DataLoader
    epochs: int | None = None
    lightning_backward: int = 0
    training_step_calls: int = 0
    #: checks on the trained LightningModule (:mod:`.module_checks`): ``{"name", "status", "detail"}``;
    #: empty when the run has no Lightning or the checks were turned off
    module_checks: list[dict] = field(default_factory=list)
    seed: int | None = None
    threads: int | None = None
    deterministic: bool = False
    wall_time_s: float | None = None
    versions: dict[str, str] = field(default_factory=dict)
    #: set when the script raised; the traceback is on the run's stderr
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def write(self, path: str | Path) -> None:
        """Write as JSON (``NaN``/``Infinity`` kept: a diverged loss is a result, not an error)."""
        from ..sourcefile import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=1))

    @classmethod
    def read(cls, path: str | Path) -> RunRecord:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
