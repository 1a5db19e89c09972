"""Checkpoints: a training run saved atomically, loaded safely, resumed exactly.

A checkpoint holds everything that decides what the next update does: the model's and the
optimiser's state dicts, the step and epoch counters, and the states of the random number
generators (Python's, NumPy's, PyTorch's on the CPU and on every CUDA device). Restore all of
them and the resumed run draws the same dropout masks and the same batches, so it continues
*exactly*: on a CPU its parameters equal those of an uninterrupted run bit for bit.

Saving is atomic: the file is written under a temporary name in the same directory, flushed to
disk, and renamed over the target with :func:`os.replace`, so a crash mid-save leaves the
previous checkpoint whole. Loading uses ``torch.load(..., weights_only=True)``, which unpickles
only tensors and plain containers and cannot run code hidden in a file; that is why the NumPy
and Python generator states are stored as tensors, and why ``extra`` may hold only plain data.

Example:
    >>> import tempfile, pathlib
    >>> from torch import nn
    >>> model = nn.Linear(2, 1)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.pt"
    >>> _ = save_checkpoint(path, model, opt, step=5, epoch=1, extra={"best": 0.25})
    >>> other = nn.Linear(2, 1)
    >>> info = load_checkpoint(path, other, torch.optim.SGD(other.parameters(), lr=0.1))
    >>> info.step, info.epoch, info.extra
    (5, 1, {'best': 0.25})
    >>> torch.equal(other.weight, model.weight)
    True
"""

from __future__ import annotations

import os
import random
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "Checkpoint",
    "load_checkpoint",
    "read_checkpoint",
    "rng_state",
    "save_checkpoint",
    "set_rng_state",
]

FORMAT = "rnnlib.checkpoint"
VERSION = 1
_PLAIN = (bool, int, float, str, type(None))


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` found besides the states it loaded.

    Attributes:
        path: the file read.
        step: the step counter saved with it (updates done).
        epoch: the epoch counter saved with it.
        extra: the plain data saved with it (losses, settings, ...).
    """

    path: Path
    step: int
    epoch: int
    extra: dict[str, Any] = field(default_factory=dict)


# --- random number generators ----------------------------------------------------------------


def rng_state() -> dict[str, Any]:
    """The states of Python's, NumPy's and PyTorch's global generators, as plain data.

    NumPy's Mersenne Twister state (624 words, a position, a cached Gaussian) and Python's
    (625 words) become ``int64`` tensors, so that ``torch.load(..., weights_only=True)`` can
    read them back. CUDA states are included when CUDA is available, one per device.

    Returns:
        ``{"python": ..., "numpy": ..., "torch": ByteTensor, "cuda": [ByteTensor, ...]}``.

    Example:
        >>> state = rng_state()
        >>> a = (random.random(), np.random.rand(), torch.rand(1))
        >>> set_rng_state(state)
        >>> (random.random(), np.random.rand(), torch.rand(1)) == a
        True
    """
    version, words, gauss_next = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002 (global state)
    return {
        "python": {
            "version": version,
            "words": torch.tensor(words, dtype=torch.int64),
            "gauss_next": gauss_next,
        },
        "numpy": {
            "kind": str(kind),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the generators from a state made by :func:`rng_state`.

    CUDA states are restored when this machine has as many CUDA devices as the one that saved
    them; otherwise they are skipped with a warning (a CPU run never needs them).

    Raises:
        ValueError: if ``state`` lacks one of the keys ``python``, ``numpy``, ``torch``.
    """
    if not isinstance(state, dict) or not {"python", "numpy", "torch"} <= set(state):
        got = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(
            f"expected a generator state with keys 'python', 'numpy', 'torch' (from "
            f"rng_state()), got {got}"
        )
    py = state["python"]
    random.setstate((py["version"], tuple(int(w) for w in py["words"].tolist()), py["gauss_next"]))
    npy = state["numpy"]
    np.random.set_state(  # noqa: NPY002 (restoring the legacy global generator is the point)
        (
            npy["kind"],
            npy["keys"].numpy().astype(np.uint32),
            npy["pos"],
            npy["has_gauss"],
            npy["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda", [])
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    elif cuda:
        warnings.warn(
            f"the checkpoint holds {len(cuda)} CUDA generator state(s) and this machine has "
            f"{torch.cuda.device_count() if torch.cuda.is_available() else 0} CUDA device(s); "
            "the CUDA generators were not restored",
            stacklevel=2,
        )


# --- saving ----------------------------------------------------------------------------------


def _check_plain(value: Any, where: str) -> None:
    """Raise a TypeError unless ``value`` is plain data that ``weights_only`` loading reads."""
    if isinstance(value, torch.Tensor) or isinstance(value, _PLAIN):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"expected str or int keys in {where}, got {key!r}")
            _check_plain(item, f"{where}[{key!r}]")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    raise TypeError(
        f"expected only tensors, numbers, strings, None, lists, tuples and dicts in {where} "
        f"(what torch.load(..., weights_only=True) can read back), got {type(value).__name__}; "
        "convert it first (e.g. float(x), x.tolist(), torch.as_tensor(x))"
    )


def _check_counter(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"expected {name} to be a non-negative int, got {value!r}")
    return int(value)


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    step: int = 0,
    epoch: int = 0,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write the training state to ``path`` atomically.

    The state is ``model.state_dict()``, ``optimizer.state_dict()`` (if given), ``step``,
    ``epoch``, ``extra`` and :func:`rng_state`. It is written to a temporary file in the same
    directory, flushed and ``fsync``-ed, then renamed onto ``path`` with :func:`os.replace`
    (atomic on POSIX and Windows): a reader sees the old checkpoint or the new one, never half
    of one, even if the process dies while saving.

    Args:
        path: the file to write; its directory must exist.
        model: the module whose parameters and buffers are saved.
        optimizer: its optimiser, so that moments and step counts resume too.
        step: updates done so far.
        epoch: epochs done so far.
        extra: plain data to keep with it (nested dicts, lists, numbers, strings, tensors).

    Returns:
        The path written, as a :class:`~pathlib.Path`.

    Raises:
        TypeError: if ``model`` is not a module, ``optimizer`` not an optimiser, or ``extra``
            holds something ``weights_only`` loading could not read back.
        ValueError: if ``step`` or ``epoch`` is not a non-negative int.
        FileNotFoundError: if the directory of ``path`` does not exist.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected model to be a torch.nn.Module, got {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"expected optimizer to be a torch.optim.Optimizer or None, "
            f"got {type(optimizer).__name__}"
        )
    extra = {} if extra is None else extra
    if not isinstance(extra, dict):
        raise TypeError(f"expected extra to be a dict or None, got {type(extra).__name__}")
    _check_plain(extra, "extra")
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot save a checkpoint to {path}: no directory {path.parent}")
    state = {
        "format": FORMAT,
        "version": VERSION,
        "step": _check_counter("step", step),
        "epoch": _check_counter("epoch", epoch),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "rng": rng_state(),
        "extra": extra,
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)
    return path


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- loading ---------------------------------------------------------------------------------


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint file with ``weights_only=True`` and check that it is one.

    Nothing is loaded into a model; use :func:`load_checkpoint` for that. Tensors are mapped
    to the CPU.

    Returns:
        The saved dictionary, with the keys ``format``, ``version``, ``step``, ``epoch``,
        ``model``, ``optimizer``, ``rng`` and ``extra``.

    Raises:
        FileNotFoundError: if there is no file at ``path``.
        ValueError: if the file is truncated or corrupt, holds objects other than tensors and
            plain containers, or was not written by :func:`save_checkpoint`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}: expected a file written by save_checkpoint"
        )
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; a cut one has no index
        raise ValueError(
            f"{path} is not a readable checkpoint (truncated or corrupt?): expected the zip "
            "archive that torch.save writes"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, EOFError, KeyError, ... for bad files
        if "Weights only load failed" in str(exc):
            raise ValueError(
                f"{path} holds objects other than tensors and plain containers, which "
                "weights_only=True refuses to unpickle (unpickling can run arbitrary code); "
                "expected a file written by save_checkpoint"
            ) from None
        raise ValueError(
            f"{path} is not a readable checkpoint (truncated or corrupt?): "
            f"{type(exc).__name__}: {str(exc)[:200]}"
        ) from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(
            f"{path} is a torch file but not a checkpoint of save_checkpoint "
            f"(expected format {FORMAT!r})"
        )
    if state.get("version") != VERSION:
        raise ValueError(
            f"{path} has checkpoint version {state.get('version')!r}; this rnnlib reads {VERSION}"
        )
    return state


def _check_same_shapes(saved: dict[str, torch.Tensor], model: nn.Module, path: Path) -> None:
    here = model.state_dict()
    problems = []
    missing = sorted(set(here) - set(saved))
    unexpected = sorted(set(saved) - set(here))
    if missing:
        problems.append(f"missing in the checkpoint: {missing[:5]}")
    if unexpected:
        problems.append(f"not in the model: {unexpected[:5]}")
    for name in sorted(set(here) & set(saved)):
        if tuple(here[name].shape) != tuple(saved[name].shape):
            problems.append(
                f"{name} has shape {tuple(saved[name].shape)} in the checkpoint and "
                f"{tuple(here[name].shape)} in the model"
            )
    if problems:
        raise ValueError(f"{path} holds a model of another shape: " + "; ".join(problems[:6]))


def load_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    restore_rng: bool = True,
) -> Checkpoint:
    """Load a checkpoint of :func:`save_checkpoint` into ``model`` (and ``optimizer``).

    The file is read with ``torch.load(..., weights_only=True)``; every parameter's shape is
    compared with the model's before anything is copied, so a mismatch changes nothing. Tensors
    land on the device of the model's own tensors (the optimiser's state follows its
    parameters).

    Args:
        path: the checkpoint file.
        model: a module of the same architecture; its state is overwritten.
        optimizer: an optimiser over ``model``'s parameters, of the kind that was saved.
        restore_rng: also restore the random generators, so that training continues exactly.

    Returns:
        A :class:`Checkpoint` with the step, the epoch and the extra data.

    Raises:
        FileNotFoundError: if there is no file at ``path``.
        ValueError: if the file is not a readable checkpoint, holds a model of another shape, or
            has no optimiser state (or one of another shape) when ``optimizer`` is given.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected model to be a torch.nn.Module, got {type(model).__name__}")
    path = Path(path)
    state = read_checkpoint(path)
    _check_same_shapes(state["model"], model, path)
    if optimizer is not None and state["optimizer"] is None:
        raise ValueError(
            f"{path} holds no optimiser state: save it with the optimizer, or load without one"
        )
    model.load_state_dict(state["model"])
    if optimizer is not None:
        try:
            optimizer.load_state_dict(state["optimizer"])
        except (ValueError, KeyError) as exc:
            raise ValueError(
                f"{path} holds the state of another optimiser or parameter layout: {exc}"
            ) from exc
    if restore_rng:
        set_rng_state(state["rng"])
    return Checkpoint(path=path, step=state["step"], epoch=state["epoch"], extra=state["extra"])
