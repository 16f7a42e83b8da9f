"""``python -m pl_convert``: the ``pl-convert`` command."""

import sys

from .cli import main

sys.exit(main())
