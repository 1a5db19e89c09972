"""Where tensors live, and how to make a run repeatable.

Only this module, :func:`rnnlib.fit` and the notebooks choose a device; every other part of
rnnlib takes the device of its inputs.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

#: Environment variable that overrides the automatic choice, e.g. ``RNNLIB_DEVICE=cpu``.
ENV_VAR = "RNNLIB_DEVICE"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def device(name: str | None = None) -> torch.device:
    """Return the device a notebook should compute on.

    The choice, in order: the ``name`` argument if it is given and not ``"auto"``; else the
    environment variable ``RNNLIB_DEVICE`` if it is set; else CUDA, then Apple MPS, then CPU,
    whichever is present first.

    Args:
        name: ``None`` or ``"auto"`` for the automatic choice, or any string
            :class:`torch.device` accepts (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``).

    Returns:
        The chosen :class:`torch.device`.

    Raises:
        ValueError: if the name is not a device PyTorch knows, or names a device this machine
            does not have.

    Example:
        >>> device("cpu")
        device(type='cpu')
    """
    source = "argument"
    if name is None or name == "auto":
        name, source = os.environ.get(ENV_VAR, "auto"), f"environment variable {ENV_VAR}"
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        chosen = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"expected a device name such as 'auto', 'cpu', 'cuda' or 'mps' in the {source}, "
            f"got {name!r}"
        ) from exc
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"the {source} asks for {name!r}, but this machine has no CUDA device")
    if chosen.type == "mps" and not _mps_available():
        raise ValueError(f"the {source} asks for {name!r}, but Apple MPS is not available here")
    return chosen


def seed(n: int) -> None:
    """Seed Python's, NumPy's and PyTorch's random generators (on every device) with ``n``.

    After ``seed(n)`` a notebook draws the same numbers on every run on the same machine.
    (Different hardware or library versions may still differ in the last bits.)

    Args:
        n: a non-negative integer below 2**32.

    Example:
        >>> seed(0); a = torch.rand(2)
        >>> seed(0); b = torch.rand(2)
        >>> torch.equal(a, b)
        True
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"expected an integer seed, got {type(n).__name__}")
    if not 0 <= n < 2**32:
        raise ValueError(f"expected a seed in [0, 2**32), got {n}")
    random.seed(n)
    np.random.seed(n)  # noqa: NPY002 (seeding the legacy global generator is the point)
    torch.manual_seed(n)  # seeds the CPU generator and every CUDA and MPS device's
