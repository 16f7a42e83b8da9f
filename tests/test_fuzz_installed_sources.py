"""Real code as fuzz input: ``migrate --dry-run`` over installed packages' sources.

Hundreds of real files (many mention torch and Lightning, so the converter and the linter both
run) must finish with zero ``error`` records: an ``error`` is pl-convert crashing on a file.
The bounded subset here (torchvision and pytorch_lightning) runs in CI; the whole corpus,
torch included, is ``python benchmarks/bench_compare.py`` (it counts error records too).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{name} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


@pytest.mark.slow
@pytest.mark.parametrize("package", ["torchvision", "pytorch_lightning"])
def test_migrate_dry_run_over_installed_sources_has_no_errors(package: str, tmp_path: Path) -> None:
    source = package_dir(package)
    before = {p: p.stat().st_mtime_ns for p in source.rglob("*.py")}
    proc = subprocess.run(
        [sys.executable, "-m", "pl_convert.cli", "migrate", str(source), "--dry-run", "--no-cache",
         "--jobs", "2", "-q", "--json", "-"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    records = json.loads(proc.stdout)["files"]
    assert len(records) >= 50  # the walk found the package
    errors = [(r["path"], r["error"]) for r in records if r["status"] == "error"]
    assert errors == []
    statuses = {r["status"] for r in records}
    assert "already-lightning" in statuses or "no-training-code" in statuses
    assert {p: p.stat().st_mtime_ns for p in source.rglob("*.py")} == before  # a dry run writes nothing
