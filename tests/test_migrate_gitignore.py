"""gitignore semantics of the migrate walker (pl_convert.migrate.gitignore)."""

from __future__ import annotations

import pytest

from pl_convert.gitignore import IgnoreFile, IgnoreStack, compile_pattern, initial_stack


def ignored(patterns: str, path: str, is_dir: bool = False) -> bool:
    return IgnoreStack((IgnoreFile.parse(patterns),)).is_ignored(path, is_dir)


@pytest.mark.parametrize(
    ("patterns", "path", "is_dir", "expected"),
    [
        ("*.pyc", "a/b/c.pyc", False, True),
        ("*.pyc", "a/b/c.py", False, False),
        # a trailing slash: directories only
        ("build/", "build", True, True),
        ("build/", "build", False, False),
        ("build/", "src/build", True, True),
        # a leading or middle slash anchors to the ignore file's directory
        ("/build", "build", True, True),
        ("/build", "src/build", True, False),
        ("doc/*.txt", "doc/a.txt", False, True),
        ("doc/*.txt", "doc/sub/a.txt", False, False),
        ("doc/*.txt", "x/doc/a.txt", False, False),
        # ** forms
        ("**/logs", "a/b/logs", True, True),
        ("**/logs", "logs", True, True),
        ("a/**/b", "a/b", False, True),
        ("a/**/b", "a/x/y/b", False, True),
        ("a/**", "a/x/y", False, True),
        ("a/**", "a", True, False),
        # character classes and ?
        ("data[0-9].csv", "data7.csv", False, True),
        ("data[!0-9].csv", "data7.csv", False, False),
        ("data[!0-9].csv", "dataX.csv", False, True),
        ("file?.py", "file1.py", False, True),
        ("file?.py", "file12.py", False, False),
        # comments, blank lines, escapes, trailing spaces
        ("# comment\n\n*.log", "x.log", False, True),
        ("\\#notes", "#notes", False, True),
        ("\\!important", "!important", False, True),
        ("trailing.txt   ", "trailing.txt", False, True),
    ],
)
def test_pattern_semantics(patterns: str, path: str, is_dir: bool, expected: bool) -> None:
    assert ignored(patterns, path, is_dir) is expected


def test_negation_last_match_wins() -> None:
    patterns = "*.log\n!keep.log\n"
    assert ignored(patterns, "debug.log")
    assert not ignored(patterns, "keep.log")
    assert ignored("!keep.log\n*.log\n", "keep.log")  # order matters


def test_deeper_ignore_file_overrides_higher() -> None:
    stack = IgnoreStack((IgnoreFile.parse("*.csv"), IgnoreFile.parse("!keep.csv", base="data")))
    assert stack.is_ignored("other/x.csv", False)
    assert stack.is_ignored("data/x.csv", False)
    assert not stack.is_ignored("data/keep.csv", False)
    assert stack.is_ignored("keep.csv", False)  # the nested file does not apply above its dir


def test_nested_ignore_file_patterns_are_relative_to_its_directory() -> None:
    stack = IgnoreStack((IgnoreFile.parse("/out", base="sub"),))
    assert stack.is_ignored("sub/out", True)
    assert not stack.is_ignored("out", True)
    assert not stack.is_ignored("sub/deeper/out", True)


def test_comment_and_blank_lines_compile_to_nothing() -> None:
    assert compile_pattern("# just a comment") is None
    assert compile_pattern("   ") is None
    assert compile_pattern("") is None


def test_ancestor_gitignore_applies_to_a_subdirectory_root(tmp_path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("src/generated/\n*.tmp\n")
    root = tmp_path / "src"
    root.mkdir()
    stack = initial_stack(root, respect_gitignore=True)
    assert stack.is_ignored("generated", True)
    assert stack.is_ignored("deep/x.tmp", False)
    assert not stack.is_ignored("main.py", False)
    assert not initial_stack(root, respect_gitignore=False).is_ignored("generated", True)


def test_info_exclude_and_command_line_excludes(tmp_path) -> None:
    (tmp_path / ".git" / "info").mkdir(parents=True)
    (tmp_path / ".git" / "info" / "exclude").write_text("secret.py\n")
    stack = initial_stack(tmp_path, respect_gitignore=True, excludes=("legacy/",))
    assert stack.is_ignored("secret.py", False)
    assert stack.is_ignored("legacy", True)
    assert not stack.is_ignored("legacy.py", False)
