"""The parallel runner and the result cache of pl-convert migrate."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from pl_convert.migrate.analyze import AnalysisSettings
from pl_convert.migrate.cache import ResultCache, canonical
from pl_convert.migrate.records import FileRecord, FileStatus
from pl_convert.migrate.runner import analyze_files, chunk_size

SETTINGS = AnalysisSettings(lint=False)


def make_files(root: Path, count: int) -> list[str]:
    names = []
    for i in range(count):
        name = f"mod_{i:03d}.py"
        (root / name).write_text(f"VALUE = {i}\n" if i % 5 else f"def f(:  # {i}\n")
        names.append(name)
    return names


def test_records_come_back_in_order_serial_and_parallel(tmp_path: Path) -> None:
    names = make_files(tmp_path, 40)
    progress: list[int] = []
    serial = analyze_files(tmp_path, names, SETTINGS, jobs=1)
    parallel = analyze_files(tmp_path, names, SETTINGS, jobs=2, advance=progress.append)
    assert [r.path for r in parallel] == names
    assert [r.to_dict() for r in parallel] == [r.to_dict() for r in serial]
    assert sum(progress) == 40
    assert [r.status for r in serial[:2]] == [FileStatus.UNPARSEABLE, FileStatus.NO_TRAINING_CODE]


def test_unreadable_and_oversized_files_are_records_not_crashes(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n")
    (tmp_path / "big.py").write_text("x = 1\n" * 10)
    monkeypatch.setattr("pl_convert.migrate.runner.MAX_SOURCE_BYTES", 20)
    records = analyze_files(tmp_path, ["ok.py", "big.py", "gone.py"], SETTINGS, jobs=1)
    assert [r.status for r in records] == [FileStatus.NO_TRAINING_CODE, FileStatus.UNPARSEABLE, FileStatus.UNPARSEABLE]
    assert "too large" in records[1].error.message
    assert "cannot read" in records[2].error.message


def _die_on_poison(path, data, settings, lint_path=None):
    if b"POISON" in data:
        os._exit(13)  # a worker killed outright (segfault, OOM killer)
    from pl_convert.migrate.analyze import analyze_file

    return analyze_file(path, data, settings, lint_path)


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork", reason="the patched worker needs fork")
def test_a_worker_that_dies_costs_only_its_own_file(tmp_path: Path, monkeypatch) -> None:
    names = make_files(tmp_path, 30)
    (tmp_path / "mod_007.py").write_text("POISON = 1\n")
    monkeypatch.setattr("pl_convert.migrate.runner.analyze_file", _die_on_poison)
    records = analyze_files(tmp_path, names, SETTINGS, jobs=2)
    by_path = {r.path: r for r in records}
    assert by_path["mod_007.py"].status is FileStatus.ERROR
    assert "worker process died" in by_path["mod_007.py"].error.message
    assert [r.path for r in records if r.status is FileStatus.ERROR] == ["mod_007.py"]
    assert len(records) == 30


def test_chunk_size_balances_work() -> None:
    assert chunk_size(10, 2) == 1
    assert chunk_size(1000, 2) == 16
    assert chunk_size(100, 2) == 7


def test_cache_hit_miss_and_corrupt_entries(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path, SETTINGS)
    key = cache.key(b"x = 1\n")
    assert cache.get(key, "a.py") is None and cache.misses == 1
    cache.put(key, FileRecord("a.py", FileStatus.NO_TRAINING_CODE))
    hit = cache.get(key, "elsewhere/b.py")
    assert hit is not None and hit.cached and hit.path == "elsewhere/b.py" and cache.hits == 1
    entry = next(cache.directory.rglob(f"{key}.json"))
    entry.write_text("{not json")
    assert cache.get(key, "a.py") is None  # a corrupt entry is a miss, never an error


def test_cache_keys_depend_on_content_settings_and_path_only_when_needed(tmp_path: Path) -> None:
    plain = ResultCache(tmp_path, SETTINGS)
    other = ResultCache(tmp_path, AnalysisSettings(lint=False, import_style="lightning"))
    assert plain.key(b"a") != plain.key(b"b")
    assert plain.key(b"a") != other.key(b"a")
    assert plain.key(b"a", "x.py") == plain.key(b"a", "y.py")
    per_path = ResultCache(tmp_path, SETTINGS, path_dependent=True)
    assert per_path.key(b"a", "x.py") != per_path.key(b"a", "y.py")


def test_errors_are_not_cached(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path, SETTINGS)
    cache.put(cache.key(b"boom"), FileRecord("a.py", FileStatus.ERROR))
    assert not list(tmp_path.rglob("*.json"))


def test_canonical_settings_are_order_stable() -> None:
    assert canonical({"b": {3, 1, 2}, "a": (1,)}) == {"a": [1], "b": [1, 2, 3]}
    assert json.dumps(canonical(SETTINGS), sort_keys=True) == json.dumps(canonical(AnalysisSettings(lint=False)), sort_keys=True)
