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

===========================  =========  ===============  =================================
device                       dtype      atol = rtol      largest difference measured
===========================  =========  ===============  =================================
cpu                          float32    1e-5             about 1e-6 (tests and chapter 05)
cuda, TF32 off; mps          float32    1e-4             2.3e-5 (H200, cuDNN 9.19)
cuda, TF32 allowed           float32    5e-3             1.1e-3 (H200, cuDNN 9.19)
any                          float64    1e-10            about 1e-15
===========================  =========  ===============  =================================

TF32 is the NVIDIA tensor cores' float32 mode with a 10-bit mantissa (about three significant
digits). PyTorch allows it for cuDNN by default (``torch.backends.cudnn.allow_tf32``), so a
float32 ``torch.nn.LSTM`` on an Ampere or newer GPU rounds its matrix products to TF32, while
rnnlib's products (cuBLAS, where PyTorch keeps TF32 off by default) do not. :func:`tolerance`
reads both switches at the moment it is called and picks the row that applies. The largest
differences above are over the outputs and every gradient of layers with
``H_in, H, L, N = 3, 4, 5, 3`` (RNN, LSTM and GRU), measured on an NVIDIA H200 with
torch 2.11.
"""

from __future__ import annotations

import torch

_FLOAT32 = {"cpu": 1e-5, "cuda": 1e-4, "mps": 1e-4}
_TF32 = 5e-3  # CUDA with TF32 allowed in cuDNN or cuBLAS
_FLOAT64 = 1e-10


def _tf32_allowed() -> bool:
    """Whether cuDNN or cuBLAS may round float32 products to TF32 right now."""
    return bool(torch.backends.cudnn.allow_tf32 or torch.backends.cuda.matmul.allow_tf32)


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
        >>> torch.backends.cudnn.allow_tf32 = False  # PyTorch's default is True
        >>> tolerance("cuda")
        {'atol': 0.0001, 'rtol': 0.0001}
        >>> torch.backends.cudnn.allow_tf32 = True
        >>> tolerance("cuda")
        {'atol': 0.005, 'rtol': 0.005}
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
        if kind == "cuda" and _tf32_allowed():
            tol = _TF32
    else:
        raise ValueError(f"expected dtype torch.float32 or torch.float64, got {dtype}")
    return {"atol": tol, "rtol": tol}
