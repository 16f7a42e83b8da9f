"""pl-convert: convert plain PyTorch training scripts to PyTorch Lightning, lint Lightning code,
and verify that a conversion trains the same.

Installed as the ``pl_convert`` package (the repository root is the package root).
"""

__version__ = "0.1.0"
