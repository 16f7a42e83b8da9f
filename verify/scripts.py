"""Turn the command line's paths into the two :class:`~.session.Script` s to run.

``verify train.py`` converts ``train.py`` in memory (nothing is written) and runs the result as
``train_lightning.py`` next to it, where ``pl-convert train.py`` would write it, so that its
sibling imports and relative paths behave the same. ``verify a.py b.py`` runs both as they are.
Either way the :class:`~.metric_map.MetricMap` says which logged metrics are judged.
"""

from __future__ import annotations

from pathlib import Path

from ..sourcefile import SourceError, read_source
from . import metric_map
from .metric_map import MetricMap
from .session import Script, VerifyError


def converted_path(original: Path) -> Path:
    """Where ``pl-convert`` writes the conversion of ``original``."""
    return original.with_name(f"{original.stem}_lightning{original.suffix or '.py'}")


def read_script(path: Path, label: str, device: str = "cpu") -> Script:
    """Read a script from disk (a clear :class:`VerifyError` for a missing or bad file)."""
    try:
        source = read_source(path)
    except SourceError as exc:
        raise VerifyError(str(exc)) from None
    return Script(label=label, path=Path(path), source=source.text, device=device)


def _convert(original: Script, import_style: str):
    from ..converter import ConvertOptions, convert_source

    return convert_source(original.source, ConvertOptions(import_style=import_style), str(original.path))


def convert_in_memory(original: Script, import_style: str = "pytorch_lightning") -> Script:
    """Convert ``original`` with the converter; :class:`VerifyError` with its reasons if it can't."""
    return convert_with_map(original, import_style)[0]


def convert_with_map(original: Script, import_style: str = "pytorch_lightning") -> tuple[Script, MetricMap]:
    """The in-memory conversion of ``original`` and the map of the metrics it logs."""
    from ..converter import Status

    result = _convert(original, import_style)
    if result.status is not Status.CONVERTED or result.output is None:
        explanation = {
            Status.ALREADY_LIGHTNING: "it already uses Lightning; give the plain script and this one: "
            "pl-convert verify plain.py lightning.py",
            Status.NO_TRAINING_LOOP: "no training loop was found",
            Status.NOT_CONVERTIBLE: "the converter refused it",
            Status.UNPARSEABLE: "it does not parse",
        }.get(result.status, result.status.value)
        lines = [f"{original.path}: cannot verify a conversion: {explanation}"]
        lines += [f"  {original.path}:{r.line}: {r.message}" if r.line else f"  {r.message}" for r in result.reasons]
        raise VerifyError("\n".join(lines))
    converted = Script(label="converted", path=converted_path(original.path), source=result.output, device=original.device)
    return converted, metric_map.from_conversion(result, None)


def map_for_pair(original: Script, converted: Script, import_style: str = "pytorch_lightning") -> MetricMap:
    """For ``verify a.py b.py``: the metric map of ``a.py``'s in-memory conversion, if it converts."""
    from ..converter import Status

    result = _convert(original, import_style)
    if result.status is not Status.CONVERTED or result.output is None:
        return metric_map.none(f"{original.path.name} does not convert ({result.status.value})")
    return metric_map.from_conversion(result, converted.source)


def script_pair(
    original: Path, converted: Path | None, device: str = "cpu", import_style: str = "pytorch_lightning"
) -> tuple[Script, Script, MetricMap]:
    """The original, the converted script (converted in memory when ``converted`` is None) and
    the map of the metrics to judge."""
    a = read_script(original, "original", device)
    if converted is None:
        b, mapping = convert_with_map(a, import_style)
        return a, b, mapping
    b = read_script(converted, "converted", device)
    return a, b, map_for_pair(a, b, import_style)


def device_pair(script: Path) -> tuple[Script, Script]:
    """The same script on CPU and on CUDA (for ``--compare-devices``)."""
    cpu = read_script(script, "cpu", "cpu")
    return cpu, Script(label="cuda", path=cpu.path, source=cpu.source, device="cuda")
