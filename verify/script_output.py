"""What the script's own code prints, and a clock that makes its printed timings comparable.

Runs inside the runner (the child process). Code "of the script" is code in the script file
or in a module next to it (its directory, outside installed packages): a line counts when the
function that called ``print()`` or ``sys.stdout.write()`` is such code (or asked ``tqdm.write``
or a ``logging`` logger to write it), so Lightning's and the libraries' output (progress bars,
warnings, summaries, their log records) is left out.

Timings are the one thing two honest runs always print differently. ``time.time``,
``time.perf_counter``, ``time.monotonic`` (and their ``_ns`` forms) called from the script's code
read a virtual clock instead: it starts at a fixed value and advances 1 ms per call, so
``f"{time.time() - start:.1f}s"`` prints the same in both runs when they make the same calls.
Library code keeps the real clock.
"""

from __future__ import annotations

import os
import sys
from typing import Callable

#: lines kept per run; more are counted only
LINE_LIMIT = 100_000


class ScriptFiles:
    """Is a code object's file the script or a module next to it? (cached per file name)."""

    def __init__(self, script_path: str) -> None:
        self.script = os.path.abspath(script_path)
        self.directory = os.path.dirname(self.script) + os.sep
        self._known: dict[str, bool] = {}

    def __contains__(self, filename: str) -> bool:
        known = self._known.get(filename)
        if known is None:
            path = os.path.abspath(filename) if filename and not filename.startswith("<") else ""
            known = path == self.script or (
                path.startswith(self.directory)
                and "site-packages" not in path
                and "dist-packages" not in path
                and f"{os.sep}.venv{os.sep}" not in path
            )
            self._known[filename] = known
        return known


_LOGGING = f"{os.sep}logging{os.sep}__init__.py"
_TQDM = f"{os.sep}tqdm{os.sep}"


def _writer(frame) -> str:
    """The file of the code that asked for a write: the caller, past ``tqdm.write(...)`` and the
    ``logging`` machinery (a progress bar's own redraws stay tqdm's)."""
    for _ in range(12):
        if frame is None:
            return ""
        filename = frame.f_code.co_filename
        if _LOGGING in filename or (_TQDM in filename and frame.f_code.co_name == "write"):
            frame = frame.f_back
            continue
        return filename
    return ""


class _Tee:
    """A text stream that forwards everything and keeps the lines the script's code writes."""

    def __init__(self, stream, name: str, printed: PrintedLines) -> None:
        self._stream = stream
        self._name = name
        self._printed = printed
        self._partial = ""

    def write(self, text):
        written = self._stream.write(text)
        if isinstance(text, str) and _writer(sys._getframe(1)) in self._printed.files:
            self._partial += text
            if "\n" in self._partial:
                *lines, self._partial = self._partial.split("\n")
                for line in lines:
                    self._printed.add(line, self._name)
        return written

    def flush_partial(self) -> None:
        if self._partial:
            self._printed.add(self._partial, self._name)
            self._partial = ""

    def __getattr__(self, name):  # flush, isatty, fileno, encoding, buffer, ...
        return getattr(self._stream, name)


class PrintedLines:
    """Collects ``[text, step, stream]`` for each line the script's code prints."""

    def __init__(self, files: ScriptFiles, step: Callable[[], int], limit: int = LINE_LIMIT) -> None:
        self.files = files
        self.step = step
        self.limit = limit
        self.lines: list[list] = []
        self.truncated = 0
        self._tees: list[_Tee] = []

    def add(self, text: str, stream: str) -> None:
        if len(self.lines) < self.limit:
            self.lines.append([text, self.step(), stream])
        else:
            self.truncated += 1

    def install(self) -> None:
        out, err = _Tee(sys.stdout, "out", self), _Tee(sys.stderr, "err", self)
        self._tees = [out, err]
        sys.stdout, sys.stderr = out, err

    def finish(self, replacements: dict[str, str]) -> list[list]:
        """The lines, with a last unterminated line kept and run-specific paths replaced."""
        for tee in self._tees:
            tee.flush_partial()
        ordered = sorted(replacements.items(), key=lambda item: -len(item[0]))  # longest first
        for line in self.lines:
            for old, new in ordered:
                if old and old in line[0]:
                    line[0] = line[0].replace(old, new)
        return self.lines


#: where each virtual clock starts (seconds)
VIRTUAL_EPOCH = 1_700_000_000.0
VIRTUAL_COUNTER = 1_000.0
TICK = 0.001


def install_virtual_clock(files: ScriptFiles) -> None:
    """Give the script's code a deterministic clock (see the module docstring)."""
    import time

    calls = [0]

    def make(real, start: float, nanoseconds: bool):
        def clock():
            try:
                caller = sys._getframe(1).f_code.co_filename
            except ValueError:
                caller = ""
            if caller not in files:
                return real()
            calls[0] += 1
            value = start + calls[0] * TICK
            return int(value * 1e9) if nanoseconds else value

        clock.__name__ = real.__name__
        clock.__doc__ = real.__doc__
        return clock

    for name, start in (("time", VIRTUAL_EPOCH), ("perf_counter", VIRTUAL_COUNTER), ("monotonic", VIRTUAL_COUNTER)):
        setattr(time, name, make(getattr(time, name), start, False))
        setattr(time, f"{name}_ns", make(getattr(time, f"{name}_ns"), start, True))
