"""Loaded at start-up by every Python process below a ``pl-convert verify --nproc`` run (this
directory is first on their ``PYTHONPATH``): the process records its rank's training
(:mod:`pl_convert.verify.ranks`). Does nothing outside such a run."""

import os

if os.environ.get("PL_CONVERT_VERIFY_RANK_DIR"):
    try:
        from pl_convert.verify.ranks import start_rank_recording

        start_rank_recording()
    except Exception as exc:  # never stop the user's process; the missing record is reported
        import sys

        print(f"pl-convert verify: cannot record this process: {type(exc).__name__}: {exc}", file=sys.stderr)
