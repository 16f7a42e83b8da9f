"""``.gitignore`` matching, implemented here (no dependency, no ``git`` process per file).

The common semantics of ``gitignore(5)``: blank lines and ``#`` comments, ``\\`` escapes,
trailing spaces, ``!`` negation (the last matching pattern wins), a trailing ``/`` for
directories only, a ``/`` at the start or in the middle anchoring the pattern to the
``.gitignore``'s own directory, ``*``, ``?``, ``[...]`` and ``**`` (leading ``**/``, trailing
``/**`` and ``/**/`` in the middle). Deeper ``.gitignore`` files take precedence over higher ones,
and ``.git/info/exclude`` comes last. As in git, a file inside an ignored directory cannot be
re-included: the walker does not descend into ignored directories at all.

It is pl-convert's one ignore matcher: ``.gitignore`` files, ``migrate --exclude`` and the
``exclude`` / ``extend-exclude`` patterns of ``[tool.pl-convert]`` all use this syntax.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class IgnorePattern:
    """One compiled line of an ignore file."""

    source: str  #: the line as written
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool

    def matches(self, rel_path: str, is_dir: bool) -> bool:
        """Whether this pattern matches ``rel_path`` (relative to the ignore file's directory)."""
        if self.dir_only and not is_dir:
            return False
        return self.regex.fullmatch(rel_path) is not None


def _strip_trailing_spaces(line: str) -> str:
    """Trailing spaces are dropped unless escaped with a backslash."""
    stripped = line.rstrip(" ")
    if stripped.endswith("\\") and len(stripped) < len(line):
        return stripped[:-1] + " "
    return stripped


def _glob_to_regex(pattern: str) -> str:
    """Translate the glob part of a pattern (already without ``!`` and trailing ``/``)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        if pattern.startswith("**", i):
            at_start = i == 0 or pattern[i - 1] == "/"
            j = i
            while j < n and pattern[j] == "*":
                j += 1
            at_end = j == n or pattern[j] == "/"
            if at_start and at_end:
                if j == n:  # "a/**": everything inside (or, alone, everything)
                    out.append(".*")
                    i = j
                else:  # "**/b" or "a/**/b": zero or more directories
                    out.append("(?:.*/)?")
                    i = j + 1
                continue
            out.append("[^/]*")  # other runs of stars are ordinary stars
            i = j
            continue
        char = pattern[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        elif char == "[":
            j = i + 1
            if pattern[j : j + 1] in ("!", "^"):
                j += 1
            if pattern[j : j + 1] == "]":  # a "]" right after "[" or "[!" is literal
                j += 1
            end = pattern.find("]", j)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                negate = body[:1] in ("!", "^")
                if negate:
                    body = body[1:]
                body = body.replace("\\", "\\\\").replace("[", "\\[")
                out.append(f"[^/{body}]" if negate else f"[{body}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def compile_pattern(line: str) -> IgnorePattern | None:
    """Compile one ``.gitignore`` line; None for blank lines and comments."""
    original = line
    line = line.rstrip("\r\n")
    if not line or line.startswith("#"):
        return None
    line = _strip_trailing_spaces(line)
    negated = False
    if line.startswith("!"):
        negated = True
        line = line[1:]
    elif line.startswith("\\!") or line.startswith("\\#"):
        line = line[1:]
    dir_only = line.endswith("/") and not line.endswith("\\/")
    if dir_only:
        line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    line = line.lstrip("/") if line.startswith("/") else line
    body = _glob_to_regex(line)
    regex = body if anchored else f"(?:.*/)?{body}"
    try:
        compiled = re.compile(regex, re.DOTALL)
    except re.error:
        return None  # git ignores patterns it cannot understand, and so do we
    return IgnorePattern(original.rstrip("\r\n"), compiled, negated, dir_only)


@dataclass(frozen=True)
class IgnoreFile:
    """The patterns of one ignore file, relative to ``base`` (a ``/``-path under the root)."""

    base: str  #: "" for the root; "sub/dir" otherwise
    patterns: tuple[IgnorePattern, ...]

    @classmethod
    def parse(cls, text: str, base: str = "") -> "IgnoreFile":
        compiled = (compile_pattern(line) for line in text.splitlines())
        return cls(base, tuple(p for p in compiled if p is not None))

    @classmethod
    def load(cls, path: Path, base: str = "") -> "IgnoreFile | None":
        """Read an ignore file; None if it is missing or unreadable."""
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        parsed = cls.parse(text, base)
        return parsed if parsed.patterns else None

    def decide(self, rel_path: str, is_dir: bool) -> bool | None:
        """True (ignored), False (re-included by ``!``) or None (no pattern matched)."""
        if self.base:
            prefix = self.base + "/"
            if not rel_path.startswith(prefix):
                return None
            rel_path = rel_path[len(prefix) :]
        for pattern in reversed(self.patterns):
            if pattern.matches(rel_path, is_dir):
                return not pattern.negated
        return None


class IgnoreStack:
    """The ignore files in force for one directory of the walk, deepest last."""

    def __init__(self, files: tuple[IgnoreFile, ...] = ()):
        self.files = files

    def push(self, ignore_file: IgnoreFile | None) -> "IgnoreStack":
        """The stack for a subdirectory that has ``ignore_file`` (None: none)."""
        if ignore_file is None:
            return self
        return IgnoreStack((*self.files, ignore_file))

    def is_ignored(self, rel_path: str, is_dir: bool) -> bool:
        """Whether ``rel_path`` (a ``/``-path under the root) is ignored."""
        for ignore_file in reversed(self.files):
            decision = ignore_file.decide(rel_path, is_dir)
            if decision is not None:
                return decision
        return False

    def is_ignored_with_parents(self, rel_path: str, is_dir: bool) -> bool:
        """Whether ``rel_path`` or a directory above it is ignored: for a path named on the
        command line, whose parents no walk has judged (``legacy/old.py`` under ``legacy/``)."""
        parts = rel_path.split("/")
        for end in range(1, len(parts)):
            if self.is_ignored("/".join(parts[:end]), True):
                return True
        return self.is_ignored(rel_path, is_dir)


def find_git_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds ``.git`` (a dir or a file)."""
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def initial_stack(root: Path, respect_gitignore: bool, excludes: tuple[str, ...] = ()) -> IgnoreStack:
    """Ignore rules in force at ``root``: the repository's ``info/exclude``, the ``.gitignore``
    files of the directories above ``root`` up to the repository root (rewritten relative to
    ``root``), and ``excludes`` (gitignore-style patterns from the command line, which win)."""
    files: list[IgnoreFile] = []
    if respect_gitignore:
        git_root = find_git_root(root)
        if git_root is not None:
            exclude = IgnoreFile.load(git_root / ".git" / "info" / "exclude")
            if exclude is not None:
                files.append(_rebase(exclude, git_root, root))
            for ancestor in reversed(root.parents):
                if ancestor == git_root or git_root in ancestor.parents:
                    loaded = IgnoreFile.load(ancestor / ".gitignore")
                    if loaded is not None:
                        files.append(_rebase(loaded, ancestor, root))
    if excludes:
        files.append(IgnoreFile.parse("\n".join(excludes)))
    return IgnoreStack(tuple(files))


def _rebase(ignore_file: IgnoreFile, directory: Path, root: Path) -> IgnoreFile:
    """An ignore file of an ancestor of ``root``, matched against paths relative to ``root``.

    Paths under ``root`` are re-prefixed with ``root``'s path relative to ``directory`` before
    matching, which :class:`_PrefixedIgnoreFile` does.
    """
    prefix = root.relative_to(directory).as_posix()
    if prefix in ("", "."):
        return ignore_file
    return _PrefixedIgnoreFile(ignore_file.base, ignore_file.patterns, prefix)


@dataclass(frozen=True)
class _PrefixedIgnoreFile(IgnoreFile):
    prefix: str = ""

    def decide(self, rel_path: str, is_dir: bool) -> bool | None:
        return IgnoreFile.decide(self, f"{self.prefix}/{rel_path}", is_dir)


class PatternSet:
    """Gitignore-style patterns relative to ``root`` (a configuration's directory), matched
    against any path: the ``exclude`` of ``[tool.pl-convert]`` and of the command line."""

    __slots__ = ("root", "patterns", "_stack")

    def __init__(self, root: str | Path | None, patterns: tuple[str, ...]) -> None:
        self.root = None if root is None else Path(root).resolve()
        self.patterns = tuple(patterns)
        self._stack: IgnoreStack | None = None

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, path: str | Path, is_dir: bool = False) -> bool:
        """Whether ``path`` (or a directory above it, up to ``root``) matches a pattern."""
        if not self.patterns:
            return False
        if self._stack is None:
            self._stack = IgnoreStack((IgnoreFile.parse("\n".join(self.patterns)),))
        return self._stack.is_ignored_with_parents(self._relative(Path(path)), is_dir)

    def _relative(self, path: Path) -> str:
        if self.root is not None:
            try:
                return path.resolve().relative_to(self.root).as_posix()
            except ValueError:
                pass
        return Path(os.path.normpath(path)).as_posix().lstrip("/")
