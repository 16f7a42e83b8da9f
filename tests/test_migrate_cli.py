"""End-to-end: ``pl-convert migrate`` over a small legacy codebase.

The tree has convertible MNIST scripts, a helper module, an already-Lightning module with 1.x
problems, a syntax error, a non-UTF-8 file, a binary ``.py``, data files, symlinks (one a loop),
an executable script, a gitignored checkpoint and a virtual environment.

Tests named ``*_with_the_converter`` depend on the real converter; the others pin migrate's own
behaviour and use the real converter where its answer does not matter, or a small stand-in
converter (``fake_converter``) where they need a file to be converted.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from pl_convert.cli import cli
from pl_convert.converter import result as conversion
from pl_convert.parsing import parse_module
from pl_convert.sourcefile import SourceError

TRAIN_MLP = '''\
import torch
import torch.nn as nn
import torchvision
import torchvision.transforms as transforms

train_dataset = torchvision.datasets.MNIST(root="./data", train=True, transform=transforms.ToTensor(), download=True)
train_loader = torch.utils.data.DataLoader(dataset=train_dataset, batch_size=64, shuffle=True)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


model = Net()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

for epoch in range(2):
    for i, (images, labels) in enumerate(train_loader):
        images = images.reshape(-1, 28 * 28)
        outputs = model(images)
        loss = criterion(outputs, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
'''

TRAIN_CNN = '''\
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision import datasets, transforms

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
loader = torch.utils.data.DataLoader(
    datasets.MNIST("./data", train=True, download=True, transform=transforms.ToTensor()),
    batch_size=128, shuffle=True)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 16, 3)
        self.fc = nn.Linear(16 * 26 * 26, 10)

    def forward(self, x):
        x = F.relu(self.conv(x))
        return self.fc(torch.flatten(x, 1))


model = CNN().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

for epoch in range(1, 3):
    model.train()
    for data, target in loader:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.cross_entropy(output, target)
        loss.backward()
        optimizer.step()
'''

TRAIN_LOGREG = '''\
#!/usr/bin/env python
"""Logistic regression on MNIST."""
import torch
from torch import nn
from torchvision import datasets, transforms

loader = torch.utils.data.DataLoader(
    datasets.MNIST("./data", train=True, download=True, transform=transforms.ToTensor()), batch_size=100)
model = nn.Linear(784, 10)
loss_fn = nn.CrossEntropyLoss()
opt = torch.optim.SGD(model.parameters(), lr=0.1)

for epoch in range(3):
    for x, y in loader:
        opt.zero_grad()
        loss = loss_fn(model(x.view(-1, 784)), y)
        loss.backward()
        opt.step()
'''

TRAIN_CLIP = '''\
import torch
from torch import nn
from torchvision import datasets, transforms

loader = torch.utils.data.DataLoader(
    datasets.MNIST("./data", train=True, download=True, transform=transforms.ToTensor()), batch_size=64)
model = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)

for epoch in range(2):
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = criterion(model(inputs), targets)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
'''

HELPERS = '''\
import torch


def accuracy(logits: torch.Tensor, target: torch.Tensor) -> float:
    return (logits.argmax(dim=1) == target).float().mean().item()
'''

LIT_MODULE = '''\
import pytorch_lightning as pl
import torch
from torch import nn


class LitClassifier(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(28 * 28, 10)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.cross_entropy(self.layer(x.view(x.size(0), -1)), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        return {"val_loss": nn.functional.cross_entropy(self.layer(x.view(x.size(0), -1)), y)}

    def validation_epoch_end(self, outputs):
        self.log("val_loss", torch.stack([o["val_loss"] for o in outputs]).mean())

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)


if __name__ == "__main__":
    trainer = pl.Trainer(gpus=1, max_epochs=1)
'''

CONVERTIBLE = ("train_mlp.py", "train_cnn.py", "scripts/train_logreg.py", "train_clip.py")
UNTOUCHED = ("utils/__init__.py", "utils/helpers.py", "legacy_latin1.py")
UNPARSEABLE = ("broken.py", "latin1_no_cookie.py", "blob.py")


def build_legacy_tree(root: Path) -> Path:
    """The legacy codebase of these tests, under ``root/legacy``."""
    src = root / "legacy"
    files = {
        "train_mlp.py": TRAIN_MLP,
        "train_cnn.py": TRAIN_CNN,
        "scripts/train_logreg.py": TRAIN_LOGREG,
        "train_clip.py": TRAIN_CLIP,
        "utils/__init__.py": "",
        "utils/helpers.py": HELPERS,
        "models/lit_module.py": LIT_MODULE,
        "broken.py": "import torch\n\n\ndef train(model:\n    pass\n",
        "data/labels.csv": "id,label\n1,7\n2,2\n",
        "README.md": "# legacy\n",
        "run.sh": "#!/bin/sh\npython train_mlp.py\n",
        ".gitignore": "*.ckpt\noutputs/\n",
        "checkpoints/model.ckpt": "weights",
        "outputs/log.txt": "ignored",
        "venv/pyvenv.cfg": "home = /usr/bin\n",
        "venv/lib/python3.11/site-packages/thirdparty.py": "import torch\n",
        "__pycache__/train_mlp.cpython-311.pyc": "",
    }
    for rel, text in files.items():
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (src / "latin1_no_cookie.py").write_bytes("# r\u00e9sum\u00e9 of the data\nimport torch\n".encode("latin-1"))
    (src / "legacy_latin1.py").write_bytes(
        "# -*- coding: latin-1 -*-\n# donn\u00e9es\nSEED = 0\n".encode("latin-1")
    )
    (src / "blob.py").write_bytes(b"\x00\x01\x02binary")
    (src / "run.sh").chmod(0o755)
    (src / "scripts" / "train_logreg.py").chmod(0o755)
    (src / "data" / "labels.csv").chmod(0o640)
    (src / "latest.py").symlink_to("train_mlp.py")
    (src / "data_link").symlink_to("data")
    (src / "models" / "loop").symlink_to("..")
    return src


def invoke(*args: str | Path):
    """Run ``pl-convert`` in-process; returns click's Result (stdout and stderr apart)."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def load_report(path: Path) -> dict:
    report = json.loads(path.read_text(encoding="utf-8"))
    report["by_path"] = {record["path"]: record for record in report["files"]}
    return report


def tree_snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: (kind, content or link target, mode)."""
    snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                snapshot[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                snapshot[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                snapshot[rel] = ("file", path.read_bytes(), stat.S_IMODE(st.st_mode))
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
    return snapshot


@pytest.fixture(autouse=True)
def frozen_tool_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache keys on a fingerprint of pl-convert's sources; other work editing them while
    these tests run must not turn an expected cache hit into a miss."""
    from pl_convert.migrate import cache

    frozen = cache.tool_fingerprint()
    monkeypatch.setattr(cache, "tool_fingerprint", lambda: frozen)


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    return build_legacy_tree(tmp_path)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def fake_convert(source: str, options=None, path=None) -> conversion.ConversionResult:
    """A stand-in converter: a file with ``loss.backward()`` "converts" (a LightningModule
    stub appended, a review marker above the backward call), a Lightning file is already
    Lightning, ``REFUSE`` is refused. Lets migrate's handling of conversions be tested exactly."""
    try:
        parse_module(source, path)
    except SourceError as exc:
        return conversion.ConversionResult(
            conversion.Status.UNPARSEABLE, source, reasons=[conversion.Reason(exc.line or 0, exc.message)]
        )
    if "LightningModule" in source:
        return conversion.ConversionResult(conversion.Status.ALREADY_LIGHTNING, source)
    if "REFUSE" in source:
        return conversion.ConversionResult(
            conversion.Status.NOT_CONVERTIBLE, source, reasons=[conversion.Reason(2, "gradients are edited by hand")]
        )
    lines = source.splitlines(keepends=True)
    backward = next((i for i, line in enumerate(lines) if "loss.backward()" in line), None)
    if backward is None:
        return conversion.ConversionResult(conversion.Status.NO_TRAINING_LOOP, source)
    indent = lines[backward][: len(lines[backward]) - len(lines[backward].lstrip())]
    lines.insert(backward, f"{indent}# pl-convert: review \u2014 check where the loss is reduced\n")
    output = "".join(lines) + "\n\nclass LitModel(pl.LightningModule):\n    pass\n"
    return conversion.ConversionResult(
        conversion.Status.CONVERTED,
        source,
        output=output,
        changes=[conversion.Change(backward + 1, backward + 2, "batch loop \u2192 training_step")],
        notes=[conversion.Note(backward + 1, "check where the loss is reduced")],
    )


@pytest.fixture
def fake_converter(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("pl_convert.converter.convert_source", fake_convert)
    return fake_convert


# --- behaviour that does not depend on what the converter decides --------------------------


def test_out_tree_is_complete_with_modes_symlinks_and_skips(legacy: Path, tmp_path: Path, cache_dir: Path) -> None:
    out = tmp_path / "migrated"
    before = tree_snapshot(legacy)
    result = invoke("migrate", legacy, "--out", out, "--cache-dir", cache_dir, "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert tree_snapshot(legacy) == before, "--out must leave the source untouched"
    # data, docs and scripts are copied with their modes
    assert (out / "data" / "labels.csv").read_text() == "id,label\n1,7\n2,2\n"
    assert stat.S_IMODE((out / "data" / "labels.csv").stat().st_mode) == 0o640
    assert stat.S_IMODE((out / "run.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "scripts" / "train_logreg.py").stat().st_mode) == 0o755
    assert (out / "README.md").exists() and (out / ".gitignore").exists()
    # symlinks stay symlinks, with their targets
    assert os.readlink(out / "latest.py") == "train_mlp.py"
    assert os.readlink(out / "data_link") == "data"
    assert os.readlink(out / "models" / "loop") == ".."
    assert (out / "data_link" / "labels.csv").read_text().startswith("id,label")
    # untouched and unparseable Python files are copied byte for byte
    for rel in UNTOUCHED + UNPARSEABLE:
        assert (out / rel).read_bytes() == (legacy / rel).read_bytes(), rel
    # environments, caches and gitignored files are not part of the project
    for rel in ("venv", "__pycache__", "checkpoints/model.ckpt", "outputs"):
        assert not (out / rel).exists(), rel


def test_statuses_that_do_not_depend_on_conversion(legacy: Path, tmp_path: Path, cache_dir: Path) -> None:
    report = tmp_path / "report.json"
    result = invoke("migrate", legacy, "--dry-run", "--json", report, "--cache-dir", cache_dir)
    assert result.exit_code == 0, result.output
    data = load_report(report)
    records = data["by_path"]
    assert sorted(records) == sorted([*CONVERTIBLE, *UNTOUCHED, *UNPARSEABLE, "models/lit_module.py"])
    for rel in UNTOUCHED:
        assert records[rel]["status"] == "no-training-code", rel
    for rel in UNPARSEABLE:
        assert records[rel]["status"] == "unparseable", rel
    assert records["broken.py"]["error"]["line"] == 4
    assert "syntax error" in records["broken.py"]["error"]["message"]
    assert "encoding" in records["latin1_no_cookie.py"]["error"]["message"]
    assert "binary" in records["blob.py"]["error"]["message"]
    for record in data["files"]:
        assert set(record) >= {"path", "status", "changes", "notes", "findings", "error"}
    totals = data["totals"]
    assert totals["files"] == len(records)
    assert totals["unparseable"] == 3
    assert sum(totals[s] for s in ("converted", "already-lightning", "no-training-code", "not-convertible", "unparseable", "error")) == totals["files"]
    assert data["mode"] == "dry-run"


def test_dry_run_writes_nothing(legacy: Path, tmp_path: Path, cache_dir: Path, fake_converter) -> None:
    before = tree_snapshot(legacy)
    result = invoke("migrate", legacy, "--dry-run", "--cache-dir", cache_dir, "--jobs", "1")
    assert result.exit_code == 0
    assert tree_snapshot(legacy) == before
    assert "converted: 4" in result.stderr


def test_second_run_reuses_the_cache(legacy: Path, tmp_path: Path, cache_dir: Path, monkeypatch) -> None:
    first, second, third = (tmp_path / f"run{i}.json" for i in (1, 2, 3))
    assert invoke("migrate", legacy, "--dry-run", "--json", first, "--cache-dir", cache_dir).exit_code == 0
    assert load_report(first)["totals"]["cache_hits"] == 0

    # the second run must not convert anything: a converter that fails would show up as errors
    def must_not_run(source, options=None, path=None):
        raise AssertionError("the cache should have answered")

    import pl_convert.converter

    real_convert = pl_convert.converter.convert_source
    monkeypatch.setattr("pl_convert.converter.convert_source", must_not_run)
    assert invoke("migrate", legacy, "--dry-run", "--json", second, "--cache-dir", cache_dir, "-j", "1").exit_code == 0
    one, two = load_report(first), load_report(second)
    assert two["totals"]["cache_hits"] == two["totals"]["files"]
    assert two["totals"]["error"] == 0
    for path, record in one["by_path"].items():
        assert two["by_path"][path] == record, path

    # a changed file is analysed again; the others still come from the cache
    monkeypatch.setattr("pl_convert.converter.convert_source", real_convert)
    (legacy / "utils" / "helpers.py").write_text(HELPERS + "\nEPS = 1e-8\n")
    assert invoke("migrate", legacy, "--dry-run", "--json", third, "--cache-dir", cache_dir).exit_code == 0
    assert load_report(third)["totals"]["cache_hits"] == two["totals"]["files"] - 1


def test_no_cache_bypasses_the_cache(legacy: Path, tmp_path: Path, cache_dir: Path) -> None:
    report = tmp_path / "r.json"
    for _ in range(2):
        assert invoke("migrate", legacy, "--dry-run", "--no-cache", "--json", report, "--cache-dir", cache_dir).exit_code == 0
        assert load_report(report)["totals"]["cache_hits"] == 0
    assert not cache_dir.exists()


def test_parallel_run_gives_the_same_records(legacy: Path, tmp_path: Path) -> None:
    serial, parallel = tmp_path / "serial.json", tmp_path / "parallel.json"
    assert invoke("migrate", legacy, "--dry-run", "--no-cache", "-j", "1", "--json", serial).exit_code == 0
    assert invoke("migrate", legacy, "--dry-run", "--no-cache", "-j", "2", "--json", parallel).exit_code == 0
    assert load_report(serial)["files"] == load_report(parallel)["files"]


def test_out_refuses_a_non_empty_directory_unless_forced(legacy: Path, tmp_path: Path, cache_dir: Path) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = invoke("migrate", legacy, "--out", out, "--cache-dir", cache_dir)
    assert result.exit_code == 2
    assert "not empty" in result.stderr and "--force" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    forced = invoke("migrate", legacy, "--out", out, "--force", "--cache-dir", cache_dir)
    assert forced.exit_code == 0, forced.output
    assert (out / "keep.txt").read_text() == "mine"
    assert (out / "train_mlp.py").exists()
    again = invoke("migrate", legacy, "--out", out, "--force", "--cache-dir", cache_dir)  # over its own output
    assert again.exit_code == 0, again.output
    assert os.readlink(out / "latest.py") == "train_mlp.py"


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda tmp: [tmp / "missing"], "no such directory"),
        (lambda tmp: [tmp / "empty"], "no Python files"),
        (lambda tmp: [tmp / "file.py"], "not a directory"),
        (lambda tmp: [tmp / "legacy", "--out", tmp / "legacy"], "source directory itself"),
        (lambda tmp: [tmp / "legacy", "--out", tmp / "o", "--in-place"], "cannot be combined"),
        (lambda tmp: [tmp / "legacy", "--report", tmp / "nodir" / "r.md"], "does not exist"),
    ],
)
def test_usage_errors_exit_2_with_a_message(legacy: Path, tmp_path: Path, make_args, message: str) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no python here")
    (tmp_path / "file.py").write_text("x = 1\n")
    result = invoke("migrate", *make_args(tmp_path), "--no-cache")
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_out_inside_the_source_is_not_migrated_into_itself(legacy: Path, cache_dir: Path) -> None:
    out = legacy / "migrated"
    assert invoke("migrate", legacy, "--out", out, "--cache-dir", cache_dir).exit_code == 0
    assert not (out / "migrated").exists()
    assert invoke("migrate", legacy, "--out", out, "--force", "--cache-dir", cache_dir).exit_code == 0
    assert not (out / "migrated").exists()


def test_markdown_and_html_reports(legacy: Path, tmp_path: Path, cache_dir: Path, fake_converter) -> None:
    md, page, js = tmp_path / "report.md", tmp_path / "report.html", tmp_path / "report.json"
    result = invoke("migrate", legacy, "--dry-run", "--report", md, "--json", js, "--cache-dir", cache_dir, "-j", "1")
    assert result.exit_code == 0, result.output
    text = md.read_text(encoding="utf-8")
    data = load_report(js)
    assert text.startswith("# pl-convert migration report")
    assert "| converted | 4 |" in text
    assert "| unparseable | 3 |" in text
    assert f"| **total** | {data['totals']['files']} |" in text
    assert "Convert rate: 100% (4 of 4 files with a training loop converted)." in text
    # one section per status, each file under its own status
    for heading, paths in (("## Converted: 4", CONVERTIBLE), ("## Unparseable: 3", UNPARSEABLE)):
        section = text.split(heading, 1)[1].split("\n## ", 1)[0]
        for rel in paths:
            assert f"`{rel}`" in section, (heading, rel)
    broken = text.split("### `broken.py`", 1)[1].split("###", 1)[0]
    assert "line 4: syntax error" in broken
    mlp = text.split("### `train_mlp.py`", 1)[1].split("###", 1)[0]
    assert "- lines 30-31: batch loop → training_step" in mlp
    assert "- line 30 (marker at line 30 of the new file): check where the loss is reduced" in mlp
    # the HTML variant says the same things
    assert invoke("migrate", legacy, "--dry-run", "--report", page, "--cache-dir", cache_dir, "-j", "1").exit_code == 0
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "<code>broken.py</code>" in html and "line 4: syntax error" in html
    assert "check where the loss is reduced" in html


def test_converted_files_replace_originals_and_markers_agree_with_the_report(
    legacy: Path, tmp_path: Path, cache_dir: Path, fake_converter
) -> None:
    out, js = tmp_path / "migrated", tmp_path / "report.json"
    result = invoke("migrate", legacy, "--out", out, "--json", js, "--cache-dir", cache_dir, "-j", "1")
    assert result.exit_code == 0, result.output
    data = load_report(js)
    for rel in CONVERTIBLE:
        record = data["by_path"][rel]
        assert record["status"] == "converted"
        assert record["changed"] is True
        text = (out / rel).read_text(encoding="utf-8")
        assert "class LitModel(pl.LightningModule)" in text
        assert not (out / rel).with_name(Path(rel).stem + "_lightning.py").exists()
        lines = text.splitlines()
        for note in record["notes"]:
            marker = lines[note["output_line"] - 1]
            assert marker.strip() == f"# pl-convert: review \u2014 {note['message']}"
        assert sum("# pl-convert: review" in line for line in lines) == len(record["notes"]) == 1
    assert stat.S_IMODE((out / "scripts" / "train_logreg.py").stat().st_mode) == 0o755


def test_rerun_on_the_migrated_tree_changes_nothing(legacy: Path, tmp_path: Path, cache_dir: Path, fake_converter) -> None:
    first, second = tmp_path / "m1", tmp_path / "m2"
    js = tmp_path / "second.json"
    assert invoke("migrate", legacy, "--out", first, "--cache-dir", cache_dir, "-j", "1").exit_code == 0
    assert invoke("migrate", first, "--out", second, "--json", js, "--cache-dir", cache_dir, "-j", "1").exit_code == 0
    assert tree_snapshot(second) == tree_snapshot(first)
    data = load_report(js)
    assert data["totals"]["converted"] == 0 and data["totals"]["changed"] == 0
    for rel in CONVERTIBLE:
        assert data["by_path"][rel]["status"] == "already-lightning"
    # and in place: a second pass over the migrated tree rewrites nothing
    before = tree_snapshot(first)
    result = invoke("migrate", first, "--in-place", "--force", "--cache-dir", cache_dir, "-j", "1")  # not a git tree
    assert result.exit_code == 0, result.output
    assert tree_snapshot(first) == before


def test_diff_prints_unified_diffs_of_converted_files(legacy: Path, cache_dir: Path, fake_converter) -> None:
    result = invoke("migrate", legacy, "--dry-run", "--diff", "-q", "--cache-dir", cache_dir, "-j", "1")
    assert result.exit_code == 0
    for rel in CONVERTIBLE:
        assert f"--- a/{rel}\n+++ b/{rel}\n" in result.stdout
    assert "+        # pl-convert: review \u2014 check where the loss is reduced" in result.stdout
    assert "broken.py" not in result.stdout
    assert result.stderr == ""


def test_strict_exits_1_when_something_was_not_converted(legacy: Path, cache_dir: Path, fake_converter) -> None:
    (legacy / "refused.py").write_text("import torch\n# REFUSE\n")
    assert invoke("migrate", legacy, "--dry-run", "-q", "--cache-dir", cache_dir, "-j", "1").exit_code == 0
    result = invoke("migrate", legacy, "--dry-run", "--strict", "--cache-dir", cache_dir, "-j", "1")
    assert result.exit_code == 1
    assert "refused.py:2: not-convertible: gradients are edited by hand" in result.stderr
    assert "broken.py:4: unparseable: syntax error" in result.stderr


def test_in_place_rewrites_converted_files_atomically(legacy: Path, cache_dir: Path, fake_converter) -> None:
    helper_before = (legacy / "utils" / "helpers.py").read_bytes()
    result = invoke("migrate", legacy, "--in-place", "--force", "--cache-dir", cache_dir, "-j", "1")  # not a git tree
    assert result.exit_code == 0, result.output
    for rel in CONVERTIBLE:
        assert "LightningModule" in (legacy / rel).read_text()
    assert stat.S_IMODE((legacy / "scripts" / "train_logreg.py").stat().st_mode) == 0o755
    assert (legacy / "utils" / "helpers.py").read_bytes() == helper_before
    leftovers = [p for p in legacy.rglob(".*.tmp")]
    assert leftovers == []


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", *args],
        cwd=repo, check=True, capture_output=True,
    )


@pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True).returncode != 0, reason="needs git")
def test_in_place_refuses_a_dirty_git_tree_unless_forced(legacy: Path, cache_dir: Path, fake_converter) -> None:
    git(legacy, "init", "-q")
    git(legacy, "add", "-A")
    git(legacy, "commit", "-q", "-m", "legacy")
    (legacy / "train_mlp.py").write_text(TRAIN_MLP + "# local edit\n")
    before = tree_snapshot(legacy)
    result = invoke("migrate", legacy, "--in-place", "--cache-dir", cache_dir, "-j", "1")
    assert result.exit_code == 2
    assert "uncommitted changes" in result.stderr and "train_mlp.py" in result.stderr
    assert "train_cnn.py" not in result.stderr  # only the dirty files are named
    assert tree_snapshot(legacy) == before, "a refused --in-place must not write anything"
    # an untracked file it would rewrite is refused too
    git(legacy, "commit", "-q", "-am", "edit")
    (legacy / "new_train.py").write_text(TRAIN_LOGREG)
    result = invoke("migrate", legacy, "--in-place", "--cache-dir", cache_dir, "-j", "1")
    assert result.exit_code == 2 and "new_train.py" in result.stderr
    forced = invoke("migrate", legacy, "--in-place", "--force", "--cache-dir", cache_dir, "-j", "1")
    assert forced.exit_code == 0, forced.output
    assert "LightningModule" in (legacy / "new_train.py").read_text()


@pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True).returncode != 0, reason="needs git")
def test_in_place_on_a_clean_git_tree_proceeds(legacy: Path, cache_dir: Path, fake_converter) -> None:
    git(legacy, "init", "-q")
    git(legacy, "add", "-A")
    git(legacy, "commit", "-q", "-m", "legacy")
    (legacy / "notes.txt").write_text("an untracked file migrate does not touch")
    result = invoke("migrate", legacy, "--in-place", "--cache-dir", cache_dir, "-j", "1")
    assert result.exit_code == 0, result.output
    assert "LightningModule" in (legacy / "train_mlp.py").read_text()


def test_a_crashing_file_does_not_stop_the_run(legacy: Path, tmp_path: Path, cache_dir: Path, monkeypatch) -> None:
    def crash_on_cnn(source, options=None, path=None):
        if "CNN" in source:
            raise RecursionError("maximum recursion depth exceeded")
        return fake_convert(source, options, path)

    monkeypatch.setattr("pl_convert.converter.convert_source", crash_on_cnn)
    js = tmp_path / "r.json"
    result = invoke("migrate", legacy, "--dry-run", "--json", js, "--cache-dir", cache_dir, "-j", "1")
    assert result.exit_code == 0
    data = load_report(js)
    assert data["by_path"]["train_cnn.py"]["status"] == "error"
    assert "RecursionError" in data["by_path"]["train_cnn.py"]["error"]["message"]
    assert data["by_path"]["train_mlp.py"]["status"] == "converted"
    assert "train_cnn.py: error: internal error" in result.stderr
    # errors are not cached: a fixed pl-convert retries them
    monkeypatch.setattr("pl_convert.converter.convert_source", fake_convert)
    invoke("migrate", legacy, "--dry-run", "--json", js, "--cache-dir", cache_dir, "-j", "1")
    assert load_report(js)["by_path"]["train_cnn.py"]["status"] == "converted"


# --- with the real converter and linter ---------------------------------------------------


def test_convertible_scripts_are_converted_with_the_converter(legacy: Path, tmp_path: Path, cache_dir: Path) -> None:
    out, js, md = tmp_path / "migrated", tmp_path / "report.json", tmp_path / "report.md"
    result = invoke("migrate", legacy, "--out", out, "--json", js, "--report", md, "--cache-dir", cache_dir)
    assert result.exit_code == 0, result.output
    data = load_report(js)
    report_text = md.read_text(encoding="utf-8")
    for rel in CONVERTIBLE:
        record = data["by_path"][rel]
        assert record["status"] == "converted", (rel, record)
        assert record["changes"], rel
        converted = (out / rel).read_text(encoding="utf-8")
        assert "LightningModule" in converted and "Trainer" in converted
        compile(converted, rel, "exec")
        # every review marker in the code is a note of the report, at the same line, and back;
        # notes for the report only (the DataLoaders' num_workers) have no marker
        lines = converted.splitlines()
        markers = {i + 1: line for i, line in enumerate(lines) if "# pl-convert: review" in line}
        marked = [n for n in record["notes"] if n["output_line"] is not None]
        assert sorted(n["output_line"] for n in marked) == sorted(markers), rel
        for note in record["notes"]:
            if note["output_line"] is None:
                assert note["message"] not in converted and "num_workers" in note["message"], rel
                continue
            assert note["message"] in markers[note["output_line"]]
            assert f"marker at line {note['output_line']} of the new file" in report_text
    assert data["by_path"]["train_clip.py"]["notes"], "code between backward() and step() (manual optimization) needs a review"
    assert data["totals"]["convert_rate"] == 1.0
    assert data["totals"]["notes"] == sum(len(r["notes"]) for r in data["files"])


def test_lightning_module_is_linted_with_the_converter(legacy: Path, tmp_path: Path, cache_dir: Path) -> None:
    js = tmp_path / "report.json"
    result = invoke("migrate", legacy, "--dry-run", "--json", js, "--cache-dir", cache_dir)
    assert result.exit_code == 0, result.output
    record = load_report(js)["by_path"]["models/lit_module.py"]
    assert record["status"] == "already-lightning"
    lines = {f["line"] for f in record["findings"]}
    source_lines = LIT_MODULE.splitlines()
    assert any("gpus=1" in source_lines[line - 1] for line in lines), record["findings"]
    assert any("validation_epoch_end" in source_lines[line - 1] for line in lines), record["findings"]


def test_fix_and_rerun_on_the_migrated_tree_change_nothing_with_the_converter(
    legacy: Path, tmp_path: Path, cache_dir: Path
) -> None:
    first, second = tmp_path / "m1", tmp_path / "m2"
    js1, js2 = tmp_path / "first.json", tmp_path / "second.json"
    assert invoke("migrate", legacy, "--out", first, "--fix", "--json", js1, "--cache-dir", cache_dir).exit_code == 0
    lit = load_report(js1)["by_path"]["models/lit_module.py"]
    assert lit["status"] == "already-lightning" and lit["fixes_applied"] >= 1
    fixed = (first / "models" / "lit_module.py").read_text()
    assert "gpus=" not in fixed and "validation_epoch_end" in fixed  # only the safe fix is applied
    assert any("validation_epoch_end" in f["message"] for f in lit["findings"])  # no safe fix for that
    assert not any("gpus" in f["message"] for f in lit["findings"])
    result = invoke("migrate", first, "--out", second, "--fix", "--json", js2, "--cache-dir", cache_dir)
    assert result.exit_code == 0, result.output
    assert tree_snapshot(second) == tree_snapshot(first)
    totals = load_report(js2)["totals"]
    assert totals["converted"] == 0 and totals["changed"] == 0
    assert totals["already-lightning"] == 1 + len(CONVERTIBLE)


def test_a_file_that_cannot_be_written_is_reported_and_exits_1(legacy: Path, tmp_path: Path, cache_dir: Path) -> None:
    out = tmp_path / "migrated"
    (out / "README.md").mkdir(parents=True)  # a directory where a file must go
    result = invoke("migrate", legacy, "--out", out, "--force", "--cache-dir", cache_dir)
    assert result.exit_code == 1
    assert "cannot write README.md" in result.stderr
    assert (out / "train_mlp.py").exists() and (out / "data" / "labels.csv").exists()


# --- issue 15: in place outside git, the command for the remaining fixes, one walker ------------


def test_in_place_outside_git_refuses_without_force(legacy: Path, cache_dir: Path, fake_converter) -> None:
    before = tree_snapshot(legacy)
    result = invoke("migrate", legacy, "--in-place", "--cache-dir", cache_dir, "-j", "1")
    assert result.exit_code == 2
    assert "is not in a git repository" in result.stderr and "--force" in result.stderr
    assert tree_snapshot(legacy) == before, "a refused --in-place must not write anything"
    forced = invoke("migrate", legacy, "--in-place", "--force", "--cache-dir", cache_dir, "-j", "1")
    assert forced.exit_code == 0 and "LightningModule" in (legacy / "train_mlp.py").read_text()


TRAINER_WITH_SAFE_FIX = "import pytorch_lightning as pl\ntrainer = pl.Trainer(max_epochs=1, gpus=1)\n"


@pytest.mark.parametrize("mode", ["out", "in-place", "dry-run"])
def test_the_report_ends_with_the_command_that_applies_the_remaining_safe_fixes(tmp_path: Path, mode: str) -> None:
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "trainer.py").write_text(TRAINER_WITH_SAFE_FIX)
    (src / "clean.py").write_text("import lightning as L\nt = L.Trainer(max_epochs=1)\n")
    out = tmp_path / "o"
    args = {"out": ["--out", out], "in-place": ["--in-place", "--force"], "dry-run": ["--dry-run"]}[mode]
    md, js = tmp_path / "r.md", tmp_path / "r.json"
    result = invoke("migrate", src, *args, "--report", md, "--json", js, "--no-cache", "-j", "1")
    assert result.exit_code == 0, result.output
    fixed_at = (out if mode == "out" else src) / "pkg" / "trainer.py"
    expected = f"pl-convert lint --fix {fixed_at}"
    last = result.stderr.strip().splitlines()[-1]
    assert last == f"apply the 1 remaining safe lint fix: {expected}"
    assert md.read_text().rstrip().endswith(f"## Next step\n\nApply the 1 remaining safe lint fix:\n\n```sh\n{expected}\n```")
    assert load_report(js)["safe_fix_command"] == expected
    # and it is exact: running it leaves nothing to fix
    assert invoke(*expected.split()[1:]).exit_code == 0
    assert 'accelerator="gpu", devices=1' in fixed_at.read_text()


def test_after_a_dry_run_with_conversions_the_command_is_the_migration_with_fix(legacy: Path, cache_dir: Path, fake_converter) -> None:
    (legacy / "train_mlp.py").write_text(TRAIN_MLP + "\nimport pytorch_lightning as pl\ntrainer = pl.Trainer(max_epochs=1, gpus=1)\n")
    result = invoke("migrate", legacy, "--dry-run", "--cache-dir", cache_dir, "-j", "1")
    assert result.stderr.strip().splitlines()[-1].endswith(f"pl-convert migrate {legacy} --in-place --fix")


def test_no_safe_fix_left_no_command(legacy: Path, cache_dir: Path, fake_converter) -> None:
    result = invoke("migrate", legacy, "--dry-run", "--fix", "--cache-dir", cache_dir, "-j", "1")
    assert "remaining safe lint fix" not in result.stderr


def test_lint_and_migrate_walk_the_same_files(legacy: Path, tmp_path: Path, cache_dir: Path) -> None:
    """One walker: `pl-convert lint DIR` reads the Python files `migrate DIR` analyses."""
    (legacy / ".github" / "scripts").mkdir(parents=True)
    (legacy / ".github" / "scripts" / "ci.py").write_text("print('ci')\n")
    (legacy / "outputs" / "gen.py").write_text("x = 1\n")  # .gitignore'd directory
    (legacy / "pyproject.toml").write_text('[tool.pl-convert]\nexclude = ["utils/"]\n')
    js = tmp_path / "r.json"
    invoke("migrate", legacy, "--dry-run", "--json", js, "--cache-dir", cache_dir, "-j", "1", "--no-lint")
    migrated = {path for path in load_report(js)["by_path"] if path.endswith(".py")}
    verbose = CliRunner().invoke(cli, ["lint", str(legacy), "--select", "ALL", "--format", "json", "--no-cache", "-v"])
    assert f"checking {len(migrated) + 1} files" in verbose.stderr  # + the file-link latest.py, linted where it is
    assert ".github/scripts/ci.py" in migrated and "outputs/gen.py" not in migrated and "utils/helpers.py" not in migrated
    errors = {item["path"] for item in json.loads(verbose.stdout) if item["code"] == "PTL000"}
    assert {Path(p).relative_to(legacy).as_posix() for p in errors} == {"broken.py", "latin1_no_cookie.py", "blob.py"}
