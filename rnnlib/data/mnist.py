"""MNIST from its IDX files, for readers who have them: nothing here downloads anything.

MNIST (LeCun et al. 1998) holds 70 000 handwritten digits of 28 x 28 pixels, 60 000 for
training and 10 000 for testing, in four files of the IDX format::

    train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]
    t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian 4-byte size per dimension, then the data in row-major order. Read row by row,
an MNIST image is the sources' sequence task with ``L = 28`` steps of ``H_in = 28`` pixels,
the same task as :mod:`rnnlib.data.digits` at 8 x 8.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

__all__ = ["FILES", "load", "read_idx", "write_idx"]

#: The file names of each split, without the optional ``.gz``.
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (plain or gzip-compressed) into a NumPy array.

    Args:
        path: the file; a name ending in ``.gz`` is decompressed.

    Returns:
        An array with the file's shape and element type.

    Raises:
        ValueError: if the file is not IDX, or holds fewer bytes than its header announces.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "x-idx2-ubyte")
        >>> write_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
        >>> read_idx(path)
        array([[0, 1, 2],
               [3, 4, 5]], dtype=uint8)
    """
    path = Path(path)
    with _open(path) as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _TYPES:
        raise ValueError(
            f"expected an IDX file (magic bytes 0, 0, type code, dimensions), got "
            f"{list(data[:4])} at the start of {path}"
        )
    dims = data[3]
    header = 4 + 4 * dims
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    dtype = np.dtype(_TYPES[data[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(
            f"expected {expected} bytes in {path} for shape {shape} of {dtype}, got {len(data)}"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write an unsigned-byte array as an IDX file (gzip-compressed if the name ends in .gz).

    Used by the tests and the chapter to make a small file in MNIST's format.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "y-idx1-ubyte.gz")
        >>> write_idx(path, np.array([7, 2, 1], dtype=np.uint8)); read_idx(path).tolist()
        [7, 2, 1]
    """
    array = np.asarray(array)
    if array.dtype != np.uint8 or array.ndim == 0:
        raise ValueError(
            f"expected a uint8 array with at least one dimension, got {array.dtype} "
            f"of shape {array.shape}"
        )
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    path = Path(path)
    with gzip.open(path, "wb") if path.suffix == ".gz" else open(path, "wb") as f:
        f.write(header + array.tobytes())


def _find(directory: Path, name: str) -> Path:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"expected {name} or {name}.gz in {directory}; this loader never downloads: "
        "put the MNIST files there first"
    )


def load(directory: str | Path, split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """The images and labels of one MNIST split, from IDX files in ``directory``.

    Args:
        directory: folder holding the files of :data:`FILES` (each plain or ``.gz``).
        split: ``"train"`` or ``"test"``.

    Shape:
        - images: ``(n, 28, 28)``, float32, grey levels 0..255 scaled to [0, 1]; as a batch
          of row sequences it is ``(N, L, H_in)`` with ``L = H_in = 28``.
        - labels: ``(n,)``, int64.

    Raises:
        FileNotFoundError: if a file is missing. ValueError: if the files do not match.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> write_idx(folder / "t10k-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
        >>> write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([3, 9], np.uint8))
        >>> images, labels = load(folder, "test")
        >>> images.shape, labels.tolist()
        (torch.Size([2, 28, 28]), [3, 9])
    """
    if split not in FILES:
        raise ValueError(f"expected split 'train' or 'test', got {split!r}")
    directory = Path(directory)
    image_file, label_file = (_find(directory, name) for name in FILES[split])
    images, labels = read_idx(image_file), read_idx(label_file)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"expected images (n, height, width) and labels (n,), got {images.shape} "
            f"from {image_file.name} and {labels.shape} from {label_file.name}"
        )
    return (
        torch.from_numpy(images.astype(np.float32) / 255.0),
        torch.from_numpy(labels.astype(np.int64)),
    )
