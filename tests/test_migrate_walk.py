"""The migrate walker: what it lists, skips and never follows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pl_convert.walk import walk_tree


def make(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_lists_python_other_files_and_symlinks(tmp_path: Path) -> None:
    make(tmp_path, {"a.py": "", "pkg/b.py": "", "pkg/data.csv": "1,2\n", "README.md": "# hi\n"})
    (tmp_path / "link.py").symlink_to("a.py")
    listing = walk_tree(tmp_path)
    assert listing.source_files == ["a.py", "pkg/b.py"]
    assert listing.other_files == ["README.md", "pkg/data.csv"]
    assert listing.symlinks == ["link.py"]
    assert listing.directories == ["pkg"]


def test_skips_vcs_caches_and_environments(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "main.py": "",
            ".git/hooks/pre-commit.py": "",
            "__pycache__/main.cpython-311.py": "",
            "node_modules/x/y.py": "",
            ".tox/py311/lib/z.py": "",
            ".mypy_cache/3.11/m.py": "",
            ".venv/lib/site-packages/torch/__init__.py": "",
            "env/pyvenv.cfg": "home = /usr\n",
            "env/lib/python3.11/site-packages/q.py": "",
            "env2/conda-meta/history": "",
            "env2/lib/r.py": "",
            "vendor/site-packages/s.py": "",
            "env_tools/tool.py": "",  # a directory named like an environment, but it is not one
        },
    )
    listing = walk_tree(tmp_path)
    assert listing.source_files == ["env_tools/tool.py", "main.py"]
    for skipped in (".git", "__pycache__", "node_modules", ".tox", ".mypy_cache", ".venv", "env", "env2"):
        assert skipped in listing.skipped
    assert "vendor/site-packages" in listing.skipped


def test_gitignore_is_respected_and_can_be_turned_off(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            ".gitignore": "build/\n*.ckpt\n/dist\n",
            "train.py": "",
            "build/lib/train.py": "",
            "dist/pkg.py": "",
            "sub/dist/kept.py": "",
            "model.ckpt": "",
            "sub/.gitignore": "local_*.py\n!local_keep.py\n",
            "sub/local_tmp.py": "",
            "sub/local_keep.py": "",
        },
    )
    listing = walk_tree(tmp_path)
    assert listing.source_files == ["sub/dist/kept.py", "sub/local_keep.py", "train.py"]
    assert "model.ckpt" not in listing.other_files
    assert ".gitignore" in listing.other_files  # the ignore files themselves are project files
    everything = walk_tree(tmp_path, respect_gitignore=False)
    assert "build/lib/train.py" in everything.source_files
    assert "sub/local_tmp.py" in everything.source_files


def test_build_and_dist_are_kept_unless_ignored(tmp_path: Path) -> None:
    make(tmp_path, {"build/make_data.py": "", "dist/x.py": ""})
    assert walk_tree(tmp_path).source_files == ["build/make_data.py", "dist/x.py"]


def test_symlink_loops_do_not_hang_and_are_kept_as_links(tmp_path: Path) -> None:
    make(tmp_path, {"pkg/a.py": ""})
    (tmp_path / "pkg" / "loop").symlink_to("..")
    (tmp_path / "self").symlink_to(".")
    (tmp_path / "dangling.py").symlink_to("missing.py")
    listing = walk_tree(tmp_path)
    assert listing.source_files == ["pkg/a.py"]
    assert listing.symlinks == ["dangling.py", "pkg/loop", "self"]


def test_excludes_and_skip_paths(tmp_path: Path) -> None:
    make(tmp_path, {"a.py": "", "legacy/b.py": "", "out/c.py": "", "notes/old_1.py": ""})
    listing = walk_tree(tmp_path, excludes=("legacy/", "old_*.py"), skip_paths=(tmp_path / "out",))
    assert listing.source_files == ["a.py"]


def test_unreadable_directory_is_reported_not_raised(open_tmp_path: Path, unprivileged) -> None:
    """A real ``chmod 000`` directory (as an unprivileged user when the tests run as root)."""
    make(open_tmp_path, {"a.py": "", "locked/b.py": ""})
    walk_tree(open_tmp_path)  # imports what the walk needs
    (open_tmp_path / "locked").chmod(0)
    try:
        listing = unprivileged(walk_tree, open_tmp_path)
    finally:
        (open_tmp_path / "locked").chmod(0o755)
    assert listing.source_files == ["a.py"]
    assert listing.unreadable and listing.unreadable[0][0] == "locked"
