"""Progress of a migration on stderr: a rich bar in a terminal, a few plain lines otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console


@contextmanager
def progress_bar(total: int, console: Console, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(count)``. In a terminal: a rich progress bar (removed when done); when
    stderr is a pipe or file: one line at every 10% and at the end; disabled: nothing."""
    if not enabled or total == 0:
        yield lambda count: None
        return
    if console.is_terminal:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        with Progress(
            SpinnerColumn(),
            TextColumn("[bold]migrating"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("migrate", total=total)
            yield lambda count: progress.advance(task, count)
        return
    state = {"done": 0, "next": 0}
    start = time.perf_counter()

    def advance(count: int) -> None:
        state["done"] += count
        percent = state["done"] * 100 // total
        if percent >= state["next"] or state["done"] == total:
            elapsed = time.perf_counter() - start
            console.print(f"migrate: {state['done']}/{total} files ({percent}%, {elapsed:.1f}s)", highlight=False)
            state["next"] = percent // 10 * 10 + 10

    yield advance
