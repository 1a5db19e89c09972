"""Gradient checking: compare hand-written gradients with central finite differences.

For a scalar function :math:`f(\\theta)` of a dict of arrays, the central difference

.. math:: \\frac{\\partial f}{\\partial \\theta_i} \\approx
    \\frac{f(\\theta + \\varepsilon e_i) - f(\\theta - \\varepsilon e_i)}{2\\varepsilon}

has error :math:`O(\\varepsilon^2)` from truncation plus about :math:`10^{-16}/\\varepsilon`
from rounding; in float64 with :math:`\\varepsilon = 10^{-6}` both are far below the 1e-6
relative error we ask of a correct gradient, while a wrong one is off by order 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

__all__ = ["numerical_gradient", "relative_error", "gradient_errors", "gradcheck"]


def _as_float64_dict(params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}")
    return {k: np.array(v, dtype=np.float64) for k, v in params.items()}


def numerical_gradient(
    f: Callable[[dict[str, np.ndarray]], float],
    params: Mapping[str, np.ndarray],
    eps: float = 1e-6,
) -> dict[str, np.ndarray]:
    """Gradient of a scalar function of a dict of arrays by central differences (float64).

    ``f`` is called 2 x (number of entries) times, each time with a float64 copy of ``params``
    in which one entry is moved by :math:`\\pm\\varepsilon`; the caller's arrays are never
    changed.

    Args:
        f: maps a dict of arrays to a scalar.
        params: the point at which to differentiate.
        eps: the step :math:`\\varepsilon`.

    Returns:
        A dict with the keys and shapes of ``params``.

    Example:
        >>> g = numerical_gradient(lambda p: float(np.sum(p["w"] ** 2)), {"w": np.array([1., 2.])})
        >>> np.round(g["w"], 6)
        array([2., 4.])
    """
    if eps <= 0:
        raise ValueError(f"eps must be positive, got {eps}")
    point = _as_float64_dict(params)
    grads = {}
    for name, value in point.items():
        grad = np.zeros_like(value)
        flat, gflat = value.reshape(-1), grad.reshape(-1)  # views into value and grad
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            plus = float(f(point))
            flat[i] = old - eps
            minus = float(f(point))
            flat[i] = old
            gflat[i] = (plus - minus) / (2 * eps)
        grads[name] = grad
    return grads


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """Normwise relative error :math:`\\lVert a-b\\rVert_2 / \\max(\\lVert a\\rVert_2,
    \\lVert b\\rVert_2)`, 0 when both are zero.

    Normwise rather than elementwise, so an entry that is zero up to rounding in both does not
    make a correct gradient look wrong.

    Raises:
        ValueError: if the shapes differ.

    Example:
        >>> relative_error(np.array([1.0, 0.0]), np.array([1.0, 1e-9]))
        1e-09
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: shapes differ, {a.shape} and {b.shape}")
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def gradient_errors(
    f: Callable[[dict[str, np.ndarray]], float],
    params: Mapping[str, np.ndarray],
    grads: Mapping[str, np.ndarray],
    eps: float = 1e-6,
) -> dict[str, float]:
    """Relative error of ``grads`` against finite differences, one number per parameter.

    Only the keys of ``params`` are checked; ``grads`` may hold more (e.g. ``h0``).

    Raises:
        ValueError: if ``grads`` lacks a key of ``params`` or a shape differs.
    """
    point = _as_float64_dict(params)
    for name, value in point.items():
        if name not in grads:
            raise ValueError(f"grads has no entry {name!r}; it has {sorted(grads)}")
        if np.shape(grads[name]) != value.shape:
            raise ValueError(f"grads[{name!r}] must have shape {value.shape}, "
                             f"got {np.shape(grads[name])}")
    numeric = numerical_gradient(f, point, eps)
    return {name: relative_error(grads[name], numeric[name]) for name in point}


def gradcheck(
    f: Callable[[dict[str, np.ndarray]], float],
    params: Mapping[str, np.ndarray],
    grads: Mapping[str, np.ndarray],
    rtol: float = 1e-6,
    eps: float = 1e-6,
    *,
    raise_on_failure: bool = True,
) -> float:
    """Check analytic gradients against central differences; return the largest relative error.

    Args:
        f: the scalar function of a dict of arrays whose gradient ``grads`` claims to be.
        params: the point; every key is checked.
        grads: the gradients to check (extra keys are ignored).
        rtol: the largest relative error (see ``relative_error``) accepted per parameter.
        eps: finite-difference step.
        raise_on_failure: raise on a failure (default); otherwise only return the error.

    Returns:
        The maximum over parameters of the relative error.

    Raises:
        AssertionError: if some parameter's error exceeds ``rtol`` (with ``raise_on_failure``),
            with a report that lists every parameter, its error and ok/FAIL.

    Example:
        >>> w = {"w": np.array([1.0, -2.0])}
        >>> gradcheck(lambda p: float(np.sum(p["w"] ** 3)), w, {"w": 3 * w["w"] ** 2}) < 1e-6
        True
    """
    errors = gradient_errors(f, params, grads, eps)
    worst = max(errors.values(), default=0.0)
    if worst > rtol and raise_on_failure:
        width = max(len(k) for k in errors)
        lines = [
            f"  {k:<{width}}  shape {np.shape(params[k])!s:<12} rel. error {e:.2e}  "
            + ("ok" if e <= rtol else "FAIL")
            for k, e in errors.items()
        ]
        raise AssertionError(
            f"gradient check failed (rtol={rtol:g}, eps={eps:g}):\n" + "\n".join(lines)
        )
    return worst
