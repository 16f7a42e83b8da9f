"""The rule engine: name resolution, one parse, pre-filter, suppressions, configuration, fixes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from pl_convert.rules import LintConfig, apply_fixes, fix_source, lint_source, load_config
from pl_convert.rules.config import ConfigError
from pl_convert.sourcefile import SourceError


def lint(code: str, **config) -> list:
    return lint_source(textwrap.dedent(code), "t.py", LintConfig(**config) if config else None)


def codes(code: str, **config) -> list[str]:
    return [f.code for f in lint(code, **config)]


# -- qualified names -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "imports, call",
    [
        ("import pytorch_lightning as pl", "pl.Trainer"),
        ("import lightning as L", "L.Trainer"),
        ("import lightning.pytorch as lp", "lp.Trainer"),
        ("from pytorch_lightning import Trainer as T", "T"),
        ("from lightning.pytorch.trainer.trainer import Trainer", "Trainer"),
        ("import lightning", "lightning.pytorch.Trainer"),
        ("from pytorch_lightning import *", "Trainer"),
    ],
)
def test_trainer_is_matched_by_qualified_name(imports, call):
    assert codes(f"{imports}\nt = {call}(max_epochs=1, gpus=1)\n") == ["PTL201"]


def test_unrelated_trainer_is_not_matched():
    assert codes("from transformers import Trainer\nt = Trainer(gpus=1)\n") == []
    assert codes("t = Trainer(max_epochs=1, gpus=1)\n") == []  # never imported


def test_dataloader_alias_resolution():
    src = """
    import pytorch_lightning as pl
    import torch.utils.data as tud
    class D(pl.LightningDataModule):
        def test_dataloader(self):
            return tud.DataLoader(self.ds, shuffle=True, num_workers=2)
    """
    assert codes(src) == ["PTL102"]
    assert codes(src.replace("tud.DataLoader", "tud.dataloader.DataLoader")) == ["PTL102"]
    assert sorted(codes(src.replace(", num_workers=2", ""))) == ["PTL102", "PTL301"]


def test_subclass_of_a_same_file_lightning_module_counts():
    src = """
    import pytorch_lightning as pl
    class Base(pl.LightningModule):
        pass
    class Net(Base):
        def validation_epoch_end(self, outputs):
            pass
    """
    assert codes(src) == ["PTL205"]


# -- one parse, pre-filter, no imports of user-facing heavy modules --------------------------------
def test_each_file_is_parsed_once(monkeypatch):
    from pl_convert.rules import engine

    calls = []
    real = engine.parse_module
    monkeypatch.setattr(engine, "parse_module", lambda text, path=None: calls.append(path) or real(text, path))
    lint_source("import pytorch_lightning as pl\ntrainer = pl.Trainer(gpus=1, precision=16)\n", "x.py", LintConfig(select=("ALL",)))
    assert calls == ["x.py"]


def test_a_file_no_rule_cares_about_is_not_parsed_by_libcst(monkeypatch):
    from pl_convert.rules import engine

    monkeypatch.setattr(engine, "parse_module", lambda *a, **k: pytest.fail("parsed"))
    assert lint_source("import numpy as np\nprint(np.zeros(3))\n", "x.py") == []


@pytest.mark.parametrize("text", ["def f(:\n    pass\n", "import pytorch_lightning as pl\ndef f(:\n"])
def test_unparseable_source_raises_source_error_with_a_line(text):
    with pytest.raises(SourceError) as info:
        lint_source(text, "bad.py")
    assert info.value.line is not None
    assert "bad.py" in str(info.value)


def test_linting_imports_neither_torch_nor_lightning_nor_rich(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("import pytorch_lightning as pl\ntrainer = pl.Trainer(max_epochs=1)\n", encoding="utf-8")
    probe = textwrap.dedent(
        f"""
        import sys
        import pl_convert.rules
        light = sorted(m for m in ("libcst", "rich", "torch") if m in sys.modules)
        from pl_convert.cli import main
        code = main(["lint", "--no-cache", {str(script)!r}])
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "lightning", "pytorch_lightning", "rich")
                       or m.startswith(("libcst.matchers", "libcst.codemod")))
        print(code, light, heavy)
        """
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "0 [] []"


# -- suppressions ----------------------------------------------------------------------------------
TRAINER = "import pytorch_lightning as pl\ntrainer = pl.Trainer(max_epochs=1, gpus=1, precision=16){comment}\n"


@pytest.mark.parametrize(
    "comment, expected",
    [
        ("", ["PTL201", "PTL208"]),
        ("  # noqa: PTL201", ["PTL208"]),
        ("  # noqa: PTL2", []),
        ("  # noqa", []),
        ("  # NOQA:PTL208,PTL201", []),
        ("  # noqa: PTL101", ["PTL001", "PTL201", "PTL208"]),  # PTL101 silences nothing here
        ("  # noqa: PTL201, E501", ["PTL208"]),  # other tools' codes are theirs
    ],
)
def test_line_noqa(comment, expected):
    assert sorted(codes(TRAINER.format(comment=comment))) == expected


def test_unused_noqa_judges_comments_only():
    src = 'import pytorch_lightning as pl\nhelp = "write # noqa: PTL999 to silence"\ny = 1  # note # noqa: PTL999\n'
    assert [(f.line, f.code) for f in lint(src)] == [(3, "PTL001")]
    fixed = apply_fixes(textwrap.dedent(src), "t.py").source
    assert fixed == 'import pytorch_lightning as pl\nhelp = "write # noqa: PTL999 to silence"\ny = 1  # note\n'


def test_file_level_noqa():
    assert codes("# pl-convert: noqa: PTL201\n" + TRAINER.format(comment="")) == ["PTL208"]
    assert codes("# pl-convert: noqa\n" + TRAINER.format(comment="")) == []


# -- configuration ---------------------------------------------------------------------------------
def test_selection_most_specific_selector_wins():
    cfg = LintConfig(select=("PTL2",), ignore=("PTL20",), extend_select=("PTL201",))
    assert cfg.is_enabled("PTL201") and not cfg.is_enabled("PTL202") and cfg.is_enabled("PTL210")
    assert LintConfig().is_enabled("PTL301") and not LintConfig().is_enabled("PTL302")
    assert LintConfig(select=("ALL",)).is_enabled("PTL302")


def test_command_line_ignore_is_a_layer_above_the_configuration():
    # ruff's layering: `--ignore ALL` alone turns everything off, and a command-line
    # --extend-select beats a configured ignore
    assert not LintConfig().with_overrides(ignore=("ALL",)).is_enabled("PTL101")
    assert not LintConfig(select=("PTL101",)).with_overrides(ignore=("PTL1",)).is_enabled("PTL101")
    only = LintConfig().with_overrides(extend_select=("PTL303",), ignore=("ALL",))
    assert only.is_enabled("PTL303") and not only.is_enabled("PTL201")
    assert LintConfig(ignore=("PTL303",)).with_overrides(extend_select=("PTL303",)).is_enabled("PTL303")
    # per-file-ignores always win, whatever the specificity of the selection
    per_file = LintConfig(select=("PTL101",), per_file_ignores=(("t.py", ("PTL1",)),))
    assert not per_file.is_enabled("PTL101", "t.py") and per_file.is_enabled("PTL101", "u.py")


def test_target_version_gates_migration_rules():
    src = "import pytorch_lightning as pl\ntrainer = pl.Trainer(max_epochs=1, gpus=1, progress_bar_refresh_rate=0)\n"
    assert sorted(codes(src)) == ["PTL201", "PTL202"]
    assert codes(src, target_version=(1, 9)) == ["PTL202"]
    assert codes(src, target_version=(1, 6)) == []


def test_load_config_searches_upward_and_reports_unknown_keys(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [project]
            name = "demo"
            [tool.pl-convert]
            select = ["PTL1", "PTL301"]
            ignore = ["PTL111"]
            per-file-ignores = { "tests/*" = ["PTL103"] }
            target-version = "1.9"
            unsafe-fixes = true
            colour = "always"
            [tool.pl-convert.convert]
            import-style = "lightning"
            """
        ),
        encoding="utf-8",
    )
    nested = tmp_path / "src" / "pkg"
    nested.mkdir(parents=True)
    config = load_config(nested / "train.py")
    assert config.select == ("PTL1", "PTL301")
    assert config.target_version == (1, 9)
    assert config.unsafe_fixes is True
    assert config.is_enabled("PTL103", str(tmp_path / "src" / "a.py"))
    assert not config.is_enabled("PTL103", str(tmp_path / "tests" / "test_a.py"))
    assert len(config.warnings) == 1 and "colour" in config.warnings[0]


def test_no_pyproject_means_defaults(tmp_path):
    assert load_config(tmp_path) == LintConfig()


@pytest.mark.parametrize(
    "body, needle",
    [
        ('select = "PTL1"', "list of strings"),
        ('select = ["E501"]', "invalid rule selector"),
        ("unsafe-fixes = 1", "true or false"),
        ('target-version = "two"', "Lightning version"),
        ("select = [", "invalid TOML"),
    ],
)
def test_invalid_config_values_raise_config_error(tmp_path, body, needle):
    (tmp_path / "pyproject.toml").write_text(f"[tool.pl-convert]\n{body}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=needle):
        load_config(tmp_path)


# -- fixes -----------------------------------------------------------------------------------------
def test_safe_fixes_only_by_default_unsafe_on_request():
    src = textwrap.dedent(
        """
        import pytorch_lightning as pl
        class Net(pl.LightningModule):
            def training_step(self, batch, batch_idx):
                x = batch.cuda()
                return self(x).sum()
        trainer = pl.Trainer(max_epochs=1, gpus=1)
        """
    )
    safe, remaining = fix_source(src)
    assert 'accelerator="gpu", devices=1' in safe and "batch.cuda()" in safe
    assert [f.code for f in remaining] == ["PTL103"]
    unsafe, remaining = fix_source(src, unsafe=True)
    assert "batch.to(self.device)" in unsafe and remaining == []
    assert fix_source(src, LintConfig(unsafe_fixes=True))[0] == unsafe


def test_overlapping_fixes_are_applied_over_several_rounds():
    # both fixes rewrite the same Trainer call; the loop re-lints until stable
    src = "import pytorch_lightning as pl\nt = pl.Trainer(max_epochs=1, gpus=1, deterministic=True, benchmark=True)\n"
    outcome = apply_fixes(src)
    assert outcome.source == 'import pytorch_lightning as pl\nt = pl.Trainer(max_epochs=1, accelerator="gpu", devices=1, deterministic=True)\n'
    assert sorted(f.code for f in outcome.fixed) == ["PTL117", "PTL201"]
    assert outcome.remaining == []


def test_a_fix_that_would_break_the_code_is_discarded(monkeypatch):
    from pl_convert.rules import fixes
    from pl_convert.rules.findings import Edit, Finding, Fix

    broken = Finding("PTL999", "broken", None, 1, 1, 1, 2, "m", Fix("safe", "break it", (Edit(1, 1, 1, 1, "def ("),)))
    real_lint = fixes.__dict__.get("lint_source")
    from pl_convert.rules import engine

    monkeypatch.setattr(engine, "lint_source", lambda text, path=None, config=None: [broken] if "def (" not in text else (_ for _ in ()).throw(SourceError(path, "syntax error", 1)))
    outcome = apply_fixes("x = 1\n")
    assert outcome.source == "x = 1\n" and outcome.fixed == []
    assert real_lint is None  # fixes imports the engine lazily (and thus saw the patch)


def test_finding_to_dict_is_json_ready():
    import json

    finding = lint("import pytorch_lightning as pl\nt = pl.Trainer(max_epochs=1, precision=16)\n")[0]
    data = json.loads(json.dumps(finding.to_dict()))
    assert set(data) >= {"code", "name", "path", "line", "column", "end_line", "end_column", "message", "fix"}
    assert data["fix"]["safety"] == "safe"
    edit = data["fix"]["edits"][0]
    assert set(edit) == {"line", "column", "end_line", "end_column", "content"}
