"""The converter: plain PyTorch training script -> LightningModule + Trainer.

Public API: :func:`convert_source` (pure: text in, :class:`ConversionResult` out).
"""

from __future__ import annotations

from .result import Change, ConversionResult, ConvertOptions, LoggedMetric, Note, Reason, Status

__all__ = ["convert_source", "ConversionResult", "ConvertOptions", "Change", "LoggedMetric", "Note", "Reason", "Status"]


def convert_source(source: str, options: ConvertOptions | None = None, path: str | None = None) -> ConversionResult:
    """Convert the text of a PyTorch script. Never raises for bad input: see ``result.status``."""
    from .pipeline import run_conversion

    return run_conversion(source, options or ConvertOptions(), path)
