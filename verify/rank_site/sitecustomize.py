"""Loaded at start-up by every Python process below a ``pl-convert verify --nproc`` run (this
directory is first on their ``PYTHONPATH``): the process records its rank's training
(:mod:`pl_convert.verify.ranks`). Does nothing outside such a run. A ``sitecustomize`` of the
environment's own, further down ``sys.path``, still runs."""

import os
import sys

if os.environ.get("PL_CONVERT_VERIFY_RANK_DIR"):
    try:
        from pl_convert.verify.ranks import start_rank_recording

        start_rank_recording()
    except Exception as exc:  # never stop the user's process; the missing record is reported
        print(f"pl-convert verify: cannot record this process: {type(exc).__name__}: {exc}", file=sys.stderr)


def _run_the_next_sitecustomize() -> None:
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    for entry in sys.path:
        folder = os.path.abspath(entry or os.curdir)
        candidate = os.path.join(folder, "sitecustomize.py")
        if folder != here and os.path.isfile(candidate):
            spec = importlib.util.spec_from_file_location("_site_sitecustomize", candidate)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return


_run_the_next_sitecustomize()
