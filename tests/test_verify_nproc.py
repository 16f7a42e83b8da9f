"""``pl-convert verify --nproc N``: distributed scripts compared rank by rank.

The small scripts in tests/ddp_scripts/ train on synthetic data: a ``mp.spawn`` pair and a
torchrun pair (each a hand-written DDP script and its Lightning version, equal per rank) and a
negative control, a Lightning version whose loss differs on rank 1 only, from step 3.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pl_convert.verify.case_settings import CaseSettingsError, case_processes
from pl_convert.verify.command import verify
from pl_convert.verify.compare import Tolerance
from pl_convert.verify.compare_ranks import compare_ranks, first_difference
from pl_convert.verify.ranks import detect_launcher
from pl_convert.verify.record import RunRecord

SCRIPTS = Path(__file__).resolve().parent / "ddp_scripts"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def invoke(*args):
    return CliRunner().invoke(verify, [str(a) for a in args], catch_exceptions=False)


# -- launching --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "launcher"),
    [("spawn_original.py", "self"), ("torchrun_original.py", "torchrun"), ("spawn_lightning.py", "self"),
     ("torchrun_lightning.py", "torchrun")],
)
def test_the_launcher_is_the_scripts_own(name: str, launcher: str) -> None:
    assert detect_launcher((SCRIPTS / name).read_text(encoding="utf-8")) == launcher


def test_launcher_detection_of_environment_reads() -> None:
    assert detect_launcher("import os\nrank = int(os.getenv('RANK', 0))\n") == "torchrun"
    assert detect_launcher("import os\nn = os.environ.get('LOCAL_WORLD_SIZE')\n") == "torchrun"
    assert detect_launcher("import os\nhome = os.environ['HOME']\n") == "self"
    # a script that reads WORLD_SIZE but starts its own processes runs plainly
    assert detect_launcher("import os, torch.multiprocessing as mp\nn = int(os.environ['WORLD_SIZE'])\n"
                           "mp.spawn(f, nprocs=n)\n") == "self"
    assert detect_launcher("def (:\n") == "self"


def test_distributed_fixtures_say_how_they_run() -> None:
    assert case_processes(FIXTURES / "ddp_spawn") == (2, "auto")
    assert case_processes(FIXTURES / "ddp_torchrun") == (2, "torchrun")
    assert case_processes(FIXTURES / "ddp_rank0_checkpoint") == (2, "auto")
    assert case_processes(FIXTURES / "cnn_classifier") == (None, "auto")


def test_bad_process_counts_are_refused(tmp_path: Path) -> None:
    (tmp_path / "cases.toml").write_text('[x]\nnproc = 0\n[y]\nnproc = 2\nlauncher = "mpirun"\n', encoding="utf-8")
    with pytest.raises(CaseSettingsError, match="nproc must be a positive integer"):
        case_processes(tmp_path / "x")
    with pytest.raises(CaseSettingsError, match="launcher must be"):
        case_processes(tmp_path / "y")


# -- the comparison (no training) -----------------------------------------------------------


def record(losses: list[float], digest: str = "d") -> RunRecord:
    return RunRecord(losses=losses, final_params_sha256=digest)


def test_equal_ranks() -> None:
    c = compare_ranks({0: record([1.0, 2.0]), 1: record([3.0, 4.0])}, {0: record([1.0, 2.0]), 1: record([3.0, 4.0])}, 2)
    assert c.equal and c.digest_equal and c.steps_compared == 4 and c.first_diff_rank is None
    assert first_difference(c) is None


def test_the_first_difference_is_the_earliest_step_on_any_rank() -> None:
    a = {0: record([1.0, 2.0, 3.0]), 1: record([1.0, 2.0, 3.0])}
    b = {0: record([1.0, 2.0, 3.5], "x"), 1: record([1.0, 2.5, 3.0], "y")}
    c = compare_ranks(a, b, 2)
    assert not c.equal and (c.first_diff_step, c.first_diff_rank) == (2, 1)
    assert first_difference(c) == "step 2 on rank 1"
    assert c.reasons[0] == "first difference: step 2 on rank 1"
    assert any(r.startswith("rank 0: losses differ from step 3") for r in c.reasons)
    # a tie goes to the lower rank
    tie = compare_ranks(a, {0: record([9.0, 2.0, 3.0]), 1: record([9.0, 2.0, 3.0])}, 2)
    assert first_difference(tie) == "step 1 on rank 0"


def test_only_the_parameters_differ_on_one_rank() -> None:
    c = compare_ranks({0: record([1.0]), 1: record([1.0])}, {0: record([1.0]), 1: record([1.0], "other")}, 2)
    assert not c.equal and not c.digest_equal and first_difference(c) == "rank 1"


def test_a_missing_rank_is_a_difference() -> None:
    c = compare_ranks({0: record([1.0]), 1: record([1.0])}, {0: record([1.0])}, 2)
    assert not c.equal and c.first_diff_rank == 1
    assert any("converted: no record from rank(s) 1" in r for r in c.reasons)


def test_ranks_under_a_tolerance() -> None:
    c = compare_ranks({0: record([1.0])}, {0: record([1.0 + 1e-9], "x")}, 1, Tolerance.relative(1e-6))
    assert c.equal and not c.digest_equal


def test_launcher_needs_nproc() -> None:
    result = invoke(SCRIPTS / "spawn_original.py", SCRIPTS / "spawn_lightning.py", "--launcher", "torchrun")
    assert result.exit_code == 2 and "--launcher goes with --nproc" in result.output


# -- training on two processes ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("original", "converted", "launcher"), [
    ("spawn_original.py", "spawn_lightning.py", "self"),
    ("torchrun_original.py", "torchrun_lightning.py", "torchrun"),
])  # fmt: skip
def test_pairs_are_equal_rank_by_rank(original: str, converted: str, launcher: str, mnist_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    result = invoke(SCRIPTS / original, SCRIPTS / converted, "--nproc", 2, "--data-root", mnist_root, "--json", out)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert result.exit_code == 0, result.output
    assert data["verdict"] == "equal" and data["nproc"] == 2 and data["first_difference"] is None
    assert data["original"]["launcher"] == data["converted"]["launcher"] == launcher
    assert [r["rank"] for r in data["ranks"]] == [0, 1]
    for rank in data["ranks"]:
        assert rank["steps_a"] == rank["steps_b"] > 0 and rank["digest_equal"]
    # the two ranks trained on different halves of the data, to the same parameters
    losses = {rank: data["converted"]["ranks"][rank]["losses"] for rank in ("0", "1")}
    assert losses["0"] != losses["1"]
    params = {data["converted"]["ranks"][rank]["final_params_sha256"] for rank in ("0", "1")}
    assert len(params) == 1
    # Lightning trained the conversion on every rank
    assert all(data["converted"]["ranks"][r]["lightning_backward"] == len(losses[r]) for r in ("0", "1"))
    assert "rank 1: steps" in result.output


@pytest.mark.slow
def test_a_conversion_that_differs_on_rank_1_only(mnist_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    result = invoke(SCRIPTS / "spawn_original.py", SCRIPTS / "spawn_lightning_rank1_differs.py", "--nproc", 2,
                    "--data-root", mnist_root, "--json", out)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert result.exit_code == 1, result.output
    assert data["first_difference"] == "step 3 on rank 1" and data["first_diff_rank"] == 1
    assert data["reasons"][0] == "first difference: step 3 on rank 1"
    assert "step 3 on rank 1" in result.output
    rank0 = next(r for r in data["ranks"] if r["rank"] == 0)
    assert rank0["first_diff_step"] == 4  # rank 0 follows one step later (the gradients are averaged)


# -- --devices N: the conversion under strategy="ddp" ------------------------------------------


def test_a_rank_with_a_non_finite_loss_fails_the_ddp_run() -> None:
    from pl_convert.verify.ddp_run import judge_ddp_run

    original = record([2.0, 1.0, 0.5, 0.25])
    healthy = judge_ddp_run(original, {0: record([2.0, 1.5]), 1: record([2.1, 1.4])}, 2)
    assert healthy.equal and "numbers differ from one process, as expected" in healthy.notes[0]
    assert "first difference step 2" in healthy.notes[0]
    diverged = judge_ddp_run(original, {0: record([2.0, 1.5]), 1: record([2.1, float("nan")])}, 2)
    assert not diverged.equal and diverged.first_diff_rank == 1
    assert diverged.reasons == ["rank 1: loss is nan at step 2"]
    missing = judge_ddp_run(original, {0: record([2.0])}, 2)
    assert not missing.equal and "no record from rank(s) 1 of 2" in missing.reasons[0]


@pytest.mark.slow
def test_devices_2_trains_the_conversion_under_ddp(mnist_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    result = invoke(FIXTURES / "clip_grad_norm" / "original.py", "--devices", 2, "--epochs", 1,
                    "--data-root", mnist_root, "--json", out)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert result.exit_code == 0, result.output
    assert data["verdict"] == "passed" and data["devices"] == 2
    ranks = data["converted"]["ranks"]
    assert sorted(ranks) == ["0", "1"]
    for rank in ranks.values():
        assert rank["losses"] and all(abs(v) < 1e6 for v in rank["losses"])
        assert rank["lightning"]["world_size"] == 2
    # each rank trained on half the batches of the one-process original
    assert len(ranks["0"]["losses"]) < len(data["original"]["losses"])
    assert any("numbers differ from one process, as expected" in n for n in data["notes"])
    assert "PASSED" in result.output


def test_docs_cli_names_every_verify_option() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    options = [opt for param in verify.params if not getattr(param, "hidden", False)
               for opt in (*param.opts, *param.secondary_opts) if opt.startswith("-")]
    missing = [opt for opt in options if f"`{opt}" not in text]
    assert missing == [], "document these in docs/cli.md's pl-convert verify section"


def test_our_sitecustomize_still_runs_the_environments_own(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from pl_convert.verify.ranks import SITE_DIR

    own = tmp_path / "site"
    own.mkdir()
    marker = tmp_path / "ran"
    (own / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'w').write('yes')\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SITE_DIR), str(own), os.environ.get("PYTHONPATH", "")])}
    env.pop("PL_CONVERT_VERIFY_RANK_DIR", None)
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True, timeout=60)
    assert marker.read_text() == "yes"


def test_a_module_optimized_by_hand_gets_find_unused_parameters_under_ddp() -> None:
    from types import SimpleNamespace

    from pl_convert.verify.ddp_run import allow_unused_parameters

    def trainer(**ddp_kwargs):
        return SimpleNamespace(strategy=SimpleNamespace(_ddp_kwargs=dict(ddp_kwargs)))

    manual, automatic = SimpleNamespace(automatic_optimization=False), SimpleNamespace(automatic_optimization=True)
    ddp = trainer()
    assert allow_unused_parameters(ddp, manual) and ddp.strategy._ddp_kwargs == {"find_unused_parameters": True}
    ddp = trainer()
    assert not allow_unused_parameters(ddp, automatic) and ddp.strategy._ddp_kwargs == {}
    chosen = trainer(find_unused_parameters=False)  # the script's own choice stays
    assert not allow_unused_parameters(chosen, manual) and chosen.strategy._ddp_kwargs == {"find_unused_parameters": False}
    single = SimpleNamespace(strategy=SimpleNamespace())  # not DDP: nothing to set
    assert not allow_unused_parameters(single, manual)
