"""The converter: plain PyTorch training script -> LightningModule + Trainer.

Public API: :func:`convert_source` (pure: text in, :class:`ConversionResult` out).

How it is built (:mod:`.pipeline` runs the stages):

* **analysis** reads the script and records typed facts, never building code: where the
  training sits (:mod:`.layout`: batch loop, epoch loop, evaluation loops; :mod:`.loops`,
  :mod:`.functions`) and what trains (:mod:`.training`: optimizers, schedulers, models,
  devices), all in :mod:`.facts`;
* **views** (:mod:`.views`) build the statement lists the planner works on (a step function
  inlined, a phase loop specialised per phase, loaders in the caller's terms);
* the **plan** (:mod:`.plan`) holds every decision as typed records; the planner
  (:mod:`.planner`, with :mod:`.mode`, :mod:`.hooks`, :mod:`.state`) fills it;
* the **emitter** (:mod:`.emit`, :mod:`.splice`) renders it and decides nothing.

Each torch pattern is an idiom, one module in :mod:`.idioms` found by :mod:`.registry`, taking
part in the stages it needs (:mod:`.idiom` lists them). API knowledge (qualified names, the
import resolver) is shared with the rules in :mod:`pl_convert.api_knowledge`.
"""

from __future__ import annotations

from .result import Change, ConversionResult, ConvertOptions, LoggedMetric, Note, Reason, Status

__all__ = ["convert_source", "ConversionResult", "ConvertOptions", "Change", "LoggedMetric", "Note", "Reason", "Status"]


def convert_source(source: str, options: ConvertOptions | None = None, path: str | None = None) -> ConversionResult:
    """Convert the text of a PyTorch script. Never raises for bad input: see ``result.status``."""
    from .pipeline import run_conversion  # lazily: `import pl_convert.converter` stays cheap (no libcst)

    return run_conversion(source, options or ConvertOptions(), path)
