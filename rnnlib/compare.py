"""How closely two implementations of the same maths can agree, per device and dtype.

rnnlib's layers and torch.nn's compute the same function, but not in the same order: on a CPU
both use similar loops, while on an NVIDIA GPU torch.nn calls cuDNN, which fuses the gates and
sums the matrix products in its own order. In float32 (machine epsilon 1.2e-7) different
summation orders differ in the last digits, and the difference grows with the number of terms
and of time steps. In float64 the two agree to about 1e-15 on every device.

The tolerances below are what rnnlib's tests and the book's notebooks use when they compare
rnnlib with torch.nn. They are several times the largest difference measured, so that a real
error (a wrong gate, a missing term: differences of 1e-2 and more) still fails.

They are meant for values of order one from short sequences, as in rnnlib's tests (up to a few
dozen steps) and the chapters' comparisons. A weight gradient sums a term for every step of
every sequence in the batch, so its rounding error grows with L * N: on a 2-core CPU, at
``H_in, H, L, N = 8, 32, 100, 64``, float32 gradients of rnnlib and torch.nn differed by up to
3e-3, which is 1e-5 to 4e-5 of the largest gradient. Compare such sums in float64, where the two
agree to about 1e-15 of their size, or relative to their largest element.

==========  =========  ========================  ====================================
device      dtype      atol = rtol               largest difference measured
==========  =========  ========================  ====================================
cpu         float32    1e-5                      about 1e-6 (tests and chapter 05)
cuda / mps  float32    1e-4                      3.1e-5 (H200, cuDNN; TF32 off or on)
any         float64    1e-10                     about 1e-15
==========  =========  ========================  ====================================
"""

from __future__ import annotations

import torch

_FLOAT32 = {"cpu": 1e-5, "cuda": 1e-4, "mps": 1e-4}
_FLOAT64 = 1e-10


def tolerance(device: torch.device | str, dtype: torch.dtype = torch.float32) -> dict[str, float]:
    """Return ``atol`` and ``rtol`` for comparing rnnlib with torch.nn on ``device``.

    Use it as ``torch.testing.assert_close(ours, theirs, **tolerance(device, dtype))``.

    Args:
        device: where both computations ran (a :class:`torch.device` or its name).
        dtype: ``torch.float32`` or ``torch.float64``.

    Returns:
        ``{"atol": a, "rtol": a}`` with ``a`` from the table in this module's docstring.

    Raises:
        ValueError: for a dtype other than float32 and float64, or a device type with no
            documented tolerance.

    Example:
        >>> tolerance("cpu", torch.float64)
        {'atol': 1e-10, 'rtol': 1e-10}
        >>> tolerance("cuda")
        {'atol': 0.0001, 'rtol': 0.0001}
    """
    kind = torch.device(device).type
    if dtype == torch.float64:
        tol = _FLOAT64
    elif dtype == torch.float32:
        if kind not in _FLOAT32:
            raise ValueError(
                f"expected a device of type {sorted(_FLOAT32)}, got {kind!r}: no measured "
                "float32 tolerance for it"
            )
        tol = _FLOAT32[kind]
    else:
        raise ValueError(f"expected dtype torch.float32 or torch.float64, got {dtype}")
    return {"atol": tol, "rtol": tol}
