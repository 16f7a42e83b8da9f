"""Parsing source text into a libcst tree, with user-facing errors.

One place that turns libcst's parser errors (and Python 2 code, and pathological nesting) into a
:class:`~pl_convert.sourcefile.SourceError` with a line number and a message a person can act on.
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache

from .sourcefile import SourceError

#: (pattern, what it is): compiled by :func:`_python2_patterns` on the first parse error only
_PY2_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"^\s*print\s+(?![\s(=.,)\[]|$)", "a Python 2 print statement"),
    (r"^\s*print\s*$", "a Python 2 print statement"),
    (r"^\s*except\s+[\w.]+\s*,\s*\w+\s*:", "a Python 2 'except X, e:' clause"),
    (r"^\s*raise\s+[\w.]+\s*,\s*\S", "a Python 2 'raise X, msg' statement"),
    (r"^\s*exec\s+[\"'\w]", "a Python 2 exec statement"),
    (r"`[^`\n]+`", "Python 2 backtick repr"),
    (r"<>", "the Python 2 '<>' operator"),
    (r"\b0[0-7]+\b", "a Python 2 octal literal"),
    (r"\bur[\"']", "a Python 2 ur'' string"),
)


@lru_cache(maxsize=None)
def _python2_patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(pattern), what) for pattern, what in _PY2_PATTERNS)


def _python2_hint(text: str, line: int | None) -> str | None:
    """If the failing line (or any line) looks like Python 2, say what it is."""
    lines = text.splitlines()
    candidates = []
    if line is not None and 1 <= line <= len(lines):
        candidates.append((line, lines[line - 1]))
    for (lineno, src) in candidates:
        for pattern, what in _python2_patterns():
            if pattern.search(src):
                return f"line {lineno} looks like {what}"
    return None


def _python_syntax_error(text: str) -> tuple[str, int | None] | None:
    """Python's own message and line for a syntax error (clearer than the parser's), if any."""
    import ast

    try:
        ast.parse(text)
    except SyntaxError as exc:
        return (exc.msg or "invalid syntax"), exc.lineno
    except (ValueError, RecursionError, MemoryError):
        return None
    return None


#: Bracket nesting (counted naively, strings and comments included) above which CPython is
#: asked first: it allows 200 levels, libcst's native parser crashes (SIGSEGV) a little beyond
#: a thousand and slows down quadratically well before.
_CHECK_BRACKET_DEPTH = 100
#: A physical line this long may hold a huge unary/binary operator chain (``-----…1``,
#: ``1+1+…``), which libcst parses in quadratic time and overflows the C stack on.
_CHECK_LINE_LENGTH = 2_000
_NOT_BRACKETS = re.compile(r"[^()\[\]{}]+")
_BRACKET_DELTA = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}
#: CPython's messages for nesting beyond its own limits: the file cannot run either.
_NESTING_MESSAGES = ("too many nested parentheses", "too many levels of indentation", "too complex")


def _max_bracket_depth(text: str) -> int:
    """Deepest bracket nesting of ``text``, counting brackets inside strings too (an upper
    bound for the real depth; cheap: one regex pass, then a loop over the brackets only)."""
    depth = deepest = 0
    for char in _NOT_BRACKETS.sub("", text):
        depth += _BRACKET_DELTA[char]
        if depth > deepest:
            deepest = depth
    return deepest


def _looks_pathologically_nested(text: str) -> bool:
    """Cheap screen for input that could crash or stall libcst's parser."""
    if text.count("(") + text.count("[") + text.count("{") > _CHECK_BRACKET_DEPTH and (
        _max_bracket_depth(text) > _CHECK_BRACKET_DEPTH
    ):
        return True
    return max(map(len, text.splitlines()), default=0) > _CHECK_LINE_LENGTH


def _refuse_excessive_nesting(text: str, path: str | None) -> None:
    """Raise :class:`SourceError` when CPython itself cannot parse ``text`` because of its
    nesting (too many brackets, an operator chain too deep for its AST); libcst would crash
    the process or take minutes on it. Other syntax errors are left to libcst's parse."""
    import ast

    try:
        ast.parse(text)
    except SyntaxError as exc:
        message = exc.msg or ""
        if any(what in message for what in _NESTING_MESSAGES):
            raise SourceError(path, f"syntax error: {message}", line=exc.lineno) from None
    except (RecursionError, MemoryError):
        raise SourceError(path, "expression nesting is too deep to parse") from None
    except ValueError:  # NUL bytes: libcst reports them
        pass


def parse_module(text: str, path: str | None = None):
    """Parse ``text`` with libcst. Raises :class:`SourceError` on any failure.

    Pathologically nested input (thousands of brackets or a huge operator chain, which crash
    or stall libcst's native parser) is screened with CPython's parser first and refused with
    a clear message; ordinary files pay only for a cheap text scan.
    """
    import libcst as cst

    if not text.strip():
        # libcst parses an empty module fine; callers decide what "empty" means.
        return cst.parse_module(text)
    if _looks_pathologically_nested(text):
        _refuse_excessive_nesting(text, path)
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(max(limit, 10_000))
        return cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        line = getattr(exc, "raw_line", None)
        hint = _python2_hint(text, line)
        python_error = _python_syntax_error(text)
        if hint is None and python_error is not None and python_error[1] != line:
            hint = _python2_hint(text, python_error[1])  # libcst can point a line late
            line = python_error[1] if hint else line
        if hint:
            raise SourceError(
                path,
                f"Python 2 code is not supported ({hint}); port it to Python 3 first "
                "(e.g. with 2to3)",
                line=line,
            ) from None
        if python_error is not None:
            message, line = python_error
            raise SourceError(path, f"syntax error: {message}", line=line) from None
        message = str(getattr(exc, "message", "") or "invalid syntax").splitlines()[0]
        raise SourceError(path, f"cannot parse: {message}", line=line) from None
    except RecursionError:
        raise SourceError(path, "expression nesting is too deep to parse") from None
    except (MemoryError, ValueError, TypeError) as exc:  # parser-internal failures
        raise SourceError(path, f"cannot parse: {type(exc).__name__}: {exc}") from None
    finally:
        sys.setrecursionlimit(limit)
