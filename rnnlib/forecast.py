"""Forecasts and their errors: the seasonal-naive baseline, MAE, RMSE and MASE, and two ways to
forecast H steps ahead with a learnt model (iterate a one-step model, or predict all H at once).

Notation: a forecast made at origin t (every value before t known) for the H steps
:math:`t, \\dots, t + H - 1`; step h of it, :math:`\\hat y_{t+h-1}`, is the forecast at horizon
h. Arrays of forecasts are ``(N, H)``: one row per origin, one column per horizon.

Errors are computed in float64 NumPy whatever the input (arrays or tensors on any device).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

__all__ = [
    "direct_forecast",
    "mae",
    "mase",
    "mase_scale",
    "recursive_forecast",
    "rmse",
    "seasonal_naive",
    "state_space_forecasts",
]

Array = Any  # a NumPy array or a torch tensor


def _check_int(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"expected {name} to be an int >= {low}, got {value!r}")
    return int(value)


def _as_numpy(values: Array, name: str) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().double().numpy()
    if isinstance(values, np.ndarray):
        return values.astype(np.float64, copy=False)
    raise TypeError(
        f"expected {name} to be a NumPy array or a torch tensor, got {type(values).__name__}"
    )


def seasonal_naive(history: Array, horizon: int, period: int) -> Array:
    """Repeat the last observed season: :math:`\\hat y_{T+h} = y_{T+h-m\\lceil h/m \\rceil}`.

    With ``period = 1`` this is the naive forecast (the last value, repeated). It needs no
    fitting, which makes it the baseline every learnt forecast must beat.

    Args:
        history: the known values, ``(..., L)`` with ``L >= period``; the last is :math:`y_T`.
        horizon: H, the number of steps to forecast.
        period: the season m in steps.

    Shape:
        ``(..., H)``, of the same kind (array or tensor) as ``history``.

    Raises:
        TypeError: if ``history`` is neither an array nor a tensor.
        ValueError: if H or m is not a positive int, or the history is shorter than m.

    Example:
        >>> seasonal_naive(np.array([1, 2, 3, 10, 20, 30]), horizon=4, period=3)
        array([10, 20, 30, 10])
    """
    if not isinstance(history, (np.ndarray, torch.Tensor)):
        raise TypeError(
            f"expected history to be a NumPy array or a torch tensor, got {type(history).__name__}"
        )
    horizon = _check_int("horizon", horizon, 1)
    period = _check_int("period", period, 1)
    if history.ndim < 1 or history.shape[-1] < period:
        raise ValueError(
            f"expected a history (..., L) with L >= period = {period}, got shape "
            f"{tuple(history.shape)}"
        )
    season = history[..., -period:]  # (..., m): y_{T-m+1}, ..., y_T
    index = np.arange(horizon) % period  # h = 1..H uses season[(h - 1) mod m]
    if isinstance(history, torch.Tensor):
        index = torch.as_tensor(index, device=history.device)
    return season[..., index]  # (..., H)


def _pair(actual: Array, forecast: Array) -> tuple[np.ndarray, np.ndarray]:
    a, f = _as_numpy(actual, "actual"), _as_numpy(forecast, "forecast")
    if a.shape != f.shape:
        raise ValueError(
            f"expected actual and forecast of the same shape, got {a.shape} and {f.shape}"
        )
    if a.size == 0:
        raise ValueError("expected at least one value, got an empty array")
    return a, f


def mae(actual: Array, forecast: Array, axis: int | None = None) -> float | np.ndarray:
    """Mean absolute error :math:`\\frac1n \\sum |y - \\hat y|`, in the series' units.

    Args:
        actual, forecast: arrays or tensors of the same shape (nothing is broadcast).
        axis: average over this axis only (e.g. ``0`` for one error per horizon of ``(N, H)``
            forecasts); ``None``: over everything, a float.

    Example:
        >>> mae(np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 2.0]))
        1.0
    """
    a, f = _pair(actual, forecast)
    out = np.abs(a - f).mean(axis=axis)
    return float(out) if axis is None else out


def rmse(actual: Array, forecast: Array, axis: int | None = None) -> float | np.ndarray:
    """Root mean squared error :math:`\\sqrt{\\frac1n \\sum (y - \\hat y)^2}`.

    Arguments as :func:`mae`.

    Example:
        >>> rmse(np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 2.0]))
        1.290...
    """
    a, f = _pair(actual, forecast)
    out = np.sqrt(((a - f) ** 2).mean(axis=axis))
    return float(out) if axis is None else out


def mase_scale(train: Array, period: int) -> float:
    """The denominator of MASE: the in-sample MAE of the seasonal-naive forecast one season
    ahead on the training block, :math:`q = \\frac{1}{n-m} \\sum_{t=m+1}^{n} |y_t - y_{t-m}|`.

    Args:
        train: the training values, shape ``(n,)`` with ``n > period``.
        period: the season m.

    Raises:
        ValueError: if ``train`` is not 1-D or not longer than m, or the scale is 0
            (a series that repeats its season exactly).

    Example:
        >>> mase_scale(np.array([1.0, 2.0, 4.0, 7.0]), period=1)
        2.0
    """
    period = _check_int("period", period, 1)
    y = _as_numpy(train, "train")
    if y.ndim != 1 or len(y) <= period:
        raise ValueError(
            f"expected train of shape (n,) with n > period = {period}, got {y.shape}"
        )
    scale = float(np.abs(y[period:] - y[:-period]).mean())
    if not scale > 0:
        raise ValueError(f"the seasonal-naive in-sample error is {scale}: MASE is undefined")
    return scale


def mase(
    actual: Array, forecast: Array, *, train: Array, period: int, axis: int | None = None
) -> float | np.ndarray:
    """Mean absolute scaled error (Hyndman & Koehler 2006): MAE divided by
    :func:`mase_scale` of the training block.

    Below 1, the forecast beats the seasonal-naive forecast's typical one-season error on the
    training data; it has no units, so series of different sizes can be compared.

    Example:
        >>> train = np.array([1.0, 2.0, 4.0, 7.0])  # naive in-sample error 2
        >>> mase(np.array([8.0, 9.0]), np.array([7.0, 7.0]), train=train, period=1)
        0.75
    """
    return mae(actual, forecast, axis=axis) / mase_scale(train, period)


def recursive_forecast(
    one_step: Callable[[Array], Array], inputs: Array, horizon: int
) -> Array:
    """Iterate a one-step model H times, feeding each forecast back as the newest input.

    .. math:: \\hat y_{t} = g(y_{t-L}, \\dots, y_{t-1}), \\quad
              \\hat y_{t+1} = g(y_{t-L+1}, \\dots, y_{t-1}, \\hat y_t), \\quad \\dots

    The window keeps its length L: the oldest value drops out as a forecast comes in. Errors
    of the early steps become inputs of the later ones.

    Args:
        one_step: maps windows ``(N, L)`` to next values ``(N,)`` or ``(N, 1)``.
        inputs: the known windows, ``(N, L)``, a tensor or an array.
        horizon: H.

    Shape:
        ``(N, H)``, of the kind of ``inputs``.

    Raises:
        ValueError: if ``inputs`` is not 2-D, H is not a positive int, or ``one_step``
            returns another shape.

    Example:
        >>> last_plus_one = lambda w: w[:, -1] + 1
        >>> recursive_forecast(last_plus_one, torch.tensor([[0.0, 5.0]]), horizon=3)
        tensor([[6., 7., 8.]])
    """
    horizon = _check_int("horizon", horizon, 1)
    if not isinstance(inputs, (np.ndarray, torch.Tensor)) or inputs.ndim != 2:
        raise ValueError(
            f"expected inputs of shape (N, L), got {tuple(getattr(inputs, 'shape', ()))} "
            f"({type(inputs).__name__})"
        )
    torch_mode = isinstance(inputs, torch.Tensor)
    window, steps = inputs, []
    for _ in range(horizon):
        nxt = one_step(window)
        if tuple(nxt.shape) not in ((len(inputs),), (len(inputs), 1)):
            raise ValueError(
                f"expected one_step to return shape ({len(inputs)},) or ({len(inputs)}, 1), "
                f"got {tuple(nxt.shape)}"
            )
        nxt = nxt.reshape(len(inputs), 1)  # (N, 1)
        steps.append(nxt)
        if torch_mode:
            window = torch.cat([window[:, 1:], nxt], dim=1)  # (N, L)
        else:
            window = np.concatenate([window[:, 1:], nxt], axis=1)
    return torch.cat(steps, dim=1) if torch_mode else np.concatenate(steps, axis=1)  # (N, H)


def direct_forecast(multi_output: Callable[[Array], Array], inputs: Array, horizon: int) -> Array:
    """All H steps at once from one model with H outputs,
    :math:`(\\hat y_t, \\dots, \\hat y_{t+H-1}) = G(y_{t-L}, \\dots, y_{t-1})`.

    Each horizon has its own output, trained on its own target; no forecast is fed back.

    Args:
        multi_output: maps windows ``(N, L)`` to forecasts ``(N, H)``.
        inputs: ``(N, L)``.
        horizon: H, checked against the model's output.

    Raises:
        ValueError: if ``inputs`` is not 2-D or the model does not return ``(N, H)``.

    Example:
        >>> direct_forecast(lambda w: w[:, -1:] + torch.arange(1, 4), torch.zeros(2, 5), 3)
        tensor([[1., 2., 3.],
                [1., 2., 3.]])
    """
    horizon = _check_int("horizon", horizon, 1)
    if not isinstance(inputs, (np.ndarray, torch.Tensor)) or inputs.ndim != 2:
        raise ValueError(
            f"expected inputs of shape (N, L), got {tuple(getattr(inputs, 'shape', ()))} "
            f"({type(inputs).__name__})"
        )
    out = multi_output(inputs)
    if tuple(out.shape) != (len(inputs), horizon):
        raise ValueError(
            f"expected the model to return ({len(inputs)}, {horizon}), got {tuple(out.shape)}"
        )
    return out


def state_space_forecasts(results: Any, values: Array, origins: Array, horizon: int) -> np.ndarray:
    """H-step forecasts of a fitted statsmodels state-space model (SARIMAX, ETS, ...) from
    many origins, with its parameters fixed.

    The model's Kalman filter is run once over ``values``; from its predicted state
    :math:`a_t` (given :math:`y_1, \\dots, y_{t-1}`) the forecasts are

    .. math:: \\hat y_{t+h-1} = d + Z\\, a_{t+h-1}, \\qquad a_{s+1} = c + T a_s ,

    which is what ``results.apply(values[:t]).forecast(horizon)`` gives for each origin,
    without re-running the filter once per origin. The parameters are those of ``results``
    (fitted on the training block); later values only update the state, as they would in use.

    Args:
        results: a fitted, time-invariant, univariate statsmodels ``MLEResults``.
        values: the series the filter reads, ``(n,)``; must include everything before the
            last origin.
        origins: positions t, ``(N,)``, each with ``1 <= t <= n``.
        horizon: H.

    Returns:
        ``(N, H)`` float64 forecasts.

    Raises:
        ValueError: on origins outside ``[1, n]``, a model with more than one series or with
            matrices that change over time.
    """
    horizon = _check_int("horizon", horizon, 1)
    y = _as_numpy(values, "values")
    if y.ndim != 1:
        raise ValueError(f"expected values of shape (n,), got {y.shape}")
    t = np.asarray(origins)
    if t.ndim != 1 or t.size == 0 or not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"expected origins as a non-empty 1-D int array, got {t!r}")
    if t.min() < 1 or t.max() > len(y):
        raise ValueError(f"expected origins in [1, {len(y)}], got {t.min()} to {t.max()}")
    filtered = results.apply(y).filter_results
    Z, T = filtered.design, filtered.transition  # (1, k, 1), (k, k, 1) if time-invariant
    d, c = filtered.obs_intercept, filtered.state_intercept  # (1, 1), (k, 1)
    if Z.shape[0] != 1:
        raise ValueError(f"expected a model of one series, got {Z.shape[0]}")
    if any(m.shape[-1] != 1 for m in (Z, T, d, c)):
        raise ValueError("expected a time-invariant model (its matrices change over time)")
    Z, T, d, c = Z[0, :, 0], T[:, :, 0], d[0, 0], c[:, 0]
    state = filtered.predicted_state[:, t]  # (k, N): a_t given y_1 .. y_{t-1}
    out = np.empty((len(t), horizon))
    for h in range(horizon):
        out[:, h] = d + Z @ state
        state = c[:, None] + T @ state
    return out
