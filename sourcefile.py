"""Reading and writing Python source files safely.

Everything that touches user files on disk goes through here, so that every command treats bad
input the same way: a clear :class:`SourceError` (never a traceback), the input's encoding and
line endings kept on output, and atomic writes (a temporary file in the same directory, then
``os.replace``) so that an interrupted or failed write never leaves a half-written file.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import stat
import tokenize
from pathlib import Path
from typing import NamedTuple

#: Files larger than this are refused: no real training script is this big, and parsing one
#: would take minutes and gigabytes.
MAX_SOURCE_BYTES = 8 * 1024 * 1024


class SourceError(Exception):
    """A file that cannot be read as Python source. ``str(error)`` is the user-facing message."""

    def __init__(self, path: str | os.PathLike | None, message: str, line: int | None = None):
        self.path = None if path is None else str(path)
        self.message = message
        self.line = line
        where = self.path or "<input>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")


class SourceText(NamedTuple):
    """A decoded source file and what is needed to write it back the same way. (A NamedTuple:
    much cheaper to define than a frozen dataclass, on every start-up of every command.)"""

    text: str
    encoding: str = "utf-8"
    path: str | None = None

    def encode(self, text: str | None = None) -> bytes:
        """Encode ``text`` (default: the original) with the file's own encoding."""
        return (self.text if text is None else text).encode(self.encoding)


_CODING_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+", re.MULTILINE)


def _declares_encoding(data: bytes) -> bool:
    """Whether one of the first two lines carries a PEP 263 coding cookie."""
    head = b"\n".join(data.split(b"\n", 2)[:2])
    return _CODING_COOKIE.search(head) is not None


def decode_source(data: bytes, path: str | os.PathLike | None = None) -> SourceText:
    """Decode Python source bytes, honouring a PEP 263 coding cookie and a UTF-8 BOM.

    Raises :class:`SourceError` for binary data, undecodable bytes or oversized input.
    """
    if len(data) > MAX_SOURCE_BYTES:
        raise SourceError(
            path,
            f"file is too large ({len(data) / 1e6:.1f} MB; the limit is "
            f"{MAX_SOURCE_BYTES / 1e6:.0f} MB)",
        )
    if b"\x00" in data:
        raise SourceError(path, "binary file (contains NUL bytes), not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # undecodable without a cookie, or an unknown/conflicting cookie
        message = str(exc)
        if "invalid or missing encoding declaration" in message:
            raise SourceError(
                path,
                "not UTF-8 and no encoding is declared; add a '# -*- coding: latin-1 -*-' "
                "(or the right encoding) line at the top",
            ) from None
        raise SourceError(path, f"bad encoding declaration: {message}") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        if not _declares_encoding(data):
            raise SourceError(
                path,
                f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}) and no encoding is "
                "declared; add a '# -*- coding: latin-1 -*-' (or the right encoding) line at the top",
                line=line,
            ) from None
        raise SourceError(
            path,
            f"cannot decode as {encoding} (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "declare the file's encoding with a '# -*- coding: ... -*-' line",
            line=line,
        ) from None
    if encoding == "utf-8-sig":
        # Keep the BOM out of the text; it is written back by the encoder.
        text = text.lstrip("\ufeff")
    return SourceText(text=text, encoding=encoding, path=None if path is None else str(path))


def read_source(path: str | os.PathLike) -> SourceText:
    """Read and decode a Python file. Raises :class:`SourceError` with a clear message."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise SourceError(path, "no such file") from None
    except OSError as exc:  # symlink loops, permission on a parent, ...
        raise SourceError(path, f"cannot access: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise SourceError(path, "is a directory, expected a Python file")
    if not stat.S_ISREG(st.st_mode):
        raise SourceError(path, "not a regular file")
    if st.st_size > MAX_SOURCE_BYTES:
        raise SourceError(
            path,
            f"file is too large ({st.st_size / 1e6:.1f} MB; the limit is "
            f"{MAX_SOURCE_BYTES / 1e6:.0f} MB)",
        )
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise SourceError(path, f"cannot read: {exc.strerror or exc}") from None
    return decode_source(data, path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, like: str | os.PathLike | None = None) -> None:
    """Write ``data`` to ``path`` atomically.

    The data goes to a temporary file in the destination directory, is flushed to disk, and
    replaces ``path`` in one ``os.replace``; on any error the temporary file is removed and the
    destination is untouched. The file mode of ``like`` (or of the existing ``path``) is kept.
    """
    dest = Path(path)
    directory = dest.parent if str(dest.parent) else Path(".")
    mode_source = Path(like) if like is not None else dest
    try:
        mode = stat.S_IMODE(mode_source.stat().st_mode)
    except OSError:
        mode = None
    import tempfile  # only writes need it (with its imports: random, shutil...); reads do not

    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8", **kwargs) -> None:
    """Encode ``text`` with ``encoding`` (a BOM for ``utf-8-sig``) and write it atomically."""
    data = text.encode(encoding)
    if encoding.lower().replace("_", "-") == "utf-8-sig" and not data.startswith(codecs.BOM_UTF8):
        data = codecs.BOM_UTF8 + data
    atomic_write_bytes(path, data, **kwargs)


def write_generated(target: str | os.PathLike, text: str, check: bool, command: str) -> int:
    """Keep a generated file current: write ``text`` to ``target`` when it differs, or with
    ``check`` only say whether it is current (1 and the ``command`` that regenerates it when
    not). The ``main`` of each docs/data generator, so that a test can run the check."""
    target = Path(target)
    current = target.read_text(encoding="utf-8") if target.exists() else ""
    if check:
        if current != text:
            import sys

            print(f"{target} is out of date; run: {command}", file=sys.stderr)
            return 1
        return 0
    if current != text:
        atomic_write_text(target, text)
        print(f"wrote {target}")
    return 0
