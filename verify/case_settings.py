"""Per-fixture verify settings: ``fixtures/<case>/verify.toml`` (optional).

A converter fixture pair (``original.py`` + ``expected.py``) is verified bitwise unless its
``verify.toml`` says otherwise, always with a reason::

    bitwise = false                 # compare with a tolerance instead ...
    reason = "AMP rescales the loss"  # ... and say why (required)
    rtol = 1e-5                     # relative tolerance per step (default 1e-5)
    atol = 0.0
    skip = "not a training script"  # don't train this pair at all (the text is the reason)
    timeout = 300                   # seconds per run
    args = ["--batch-size", "32"]   # extra arguments for both scripts

A distributed case says how many processes it runs in ``fixtures/cases.toml`` (``nproc = 2``,
``launcher = "torchrun"``): :func:`case_processes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .compare import Tolerance

FILE_NAME = "verify.toml"
KNOWN_KEYS = {"bitwise", "reason", "rtol", "atol", "skip", "timeout", "args"}


class CaseSettingsError(ValueError):
    """A ``verify.toml`` that does not say what it must."""


@dataclass(frozen=True)
class CaseSettings:
    bitwise: bool = True
    reason: str | None = None
    rtol: float = 1e-5
    atol: float = 0.0
    skip: str | None = None
    timeout: float = 300.0
    args: list[str] = field(default_factory=list)

    def tolerance(self) -> Tolerance:
        if self.bitwise:
            return Tolerance.exact()
        return Tolerance.relative(self.rtol, self.atol, reason=self.reason)


def _load_toml(path: Path) -> dict:
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef]
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def load_case_settings(case_dir: str | Path) -> CaseSettings:
    """Read ``case_dir/verify.toml`` (defaults when there is none); :class:`CaseSettingsError` if bad."""
    path = Path(case_dir) / FILE_NAME
    if not path.is_file():
        return CaseSettings()
    try:
        data = _load_toml(path)
    except Exception as exc:
        raise CaseSettingsError(f"{path}: {exc}") from None
    unknown = set(data) - KNOWN_KEYS
    if unknown:
        raise CaseSettingsError(f"{path}: unknown keys {sorted(unknown)} (known: {sorted(KNOWN_KEYS)})")
    settings = CaseSettings(**data)
    if not isinstance(settings.bitwise, bool):
        raise CaseSettingsError(f"{path}: bitwise must be true or false")
    if not settings.bitwise and not (isinstance(settings.reason, str) and settings.reason.strip()):
        raise CaseSettingsError(f"{path}: bitwise = false needs a reason")
    if settings.skip is not None and not (isinstance(settings.skip, str) and settings.skip.strip()):
        raise CaseSettingsError(f"{path}: skip must be the reason, as text")
    if not all(isinstance(a, str) for a in settings.args):
        raise CaseSettingsError(f"{path}: args must be a list of strings")
    return settings


def case_processes(case_dir: str | Path) -> tuple[int | None, str]:
    """``(nproc, launcher)`` of a fixture from ``fixtures/cases.toml`` (``(None, "auto")`` for
    a single-process case): how ``pl-convert verify --nproc`` runs it."""
    cases = Path(case_dir).parent / "cases.toml"
    if not cases.is_file():
        return None, "auto"
    entry = _load_toml(cases).get(Path(case_dir).name, {})
    nproc = entry.get("nproc")
    if nproc is not None and (not isinstance(nproc, int) or nproc < 1):
        raise CaseSettingsError(f"{cases}: [{Path(case_dir).name}] nproc must be a positive integer")
    launcher = entry.get("launcher", "auto")
    if launcher not in ("auto", "self", "torchrun"):
        raise CaseSettingsError(f"{cases}: [{Path(case_dir).name}] launcher must be auto, self or torchrun")
    return nproc, launcher
