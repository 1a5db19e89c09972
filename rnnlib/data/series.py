"""Real time series that ship with statsmodels, and the three steps before any forecast:
a chronological split, a scaler fitted on the training part, and sliding windows.

Two series, both in the ``statsmodels.datasets`` package (nothing is downloaded):

- :func:`co2_monthly`: atmospheric CO2 at Mauna Loa, March 1958 to December 2001, from weekly
  flask samples (Keeling & Whorf), averaged to months; a trend and a yearly season.
- :func:`sunspots_yearly`: the yearly sunspot number, 1700 to 2008; a cycle of about 11 years
  whose length and height vary.

A forecast is judged on a period that comes *after* everything it learned from. Each step here
keeps that order: :func:`chronological_split` cuts the series into consecutive blocks,
:class:`Scaler` takes its statistics from the training block only, and
:func:`sliding_windows` pairs L known values with the H values that follow them, keeping every
target inside the block it is asked for.

statsmodels and pandas are imported by the loaders only, so importing this module is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch

__all__ = [
    "Scaler",
    "Series",
    "Windows",
    "chronological_split",
    "co2_monthly",
    "sliding_windows",
    "sunspots_yearly",
]

Array = Any  # a NumPy array or a torch tensor


@dataclass(frozen=True)
class Series:
    """One real series: its values, their time stamps, and what was done to the raw data.

    Attributes:
        values: the observations, float64, shape ``(n,)``.
        index: the time of each value (a ``pandas.DatetimeIndex`` of months, or the years).
        name: a short description.
        unit: the unit of the values.
        period: the seasonal period ``m`` in steps (12 for months in a year), or the typical
            length of the series' cycle where it has no fixed season (11 for sunspots).
        filled: the positions whose values were interpolated because the raw data had none.
    """

    values: np.ndarray
    index: Any
    name: str
    unit: str
    period: int
    filled: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.values)

    def to_pandas(self):
        """The series as a ``pandas.Series`` (the form statsmodels' models accept)."""
        import pandas as pd

        return pd.Series(self.values, index=self.index, name=self.name)


def co2_monthly() -> Series:
    """Mauna Loa CO2 (ppm), monthly means of the weekly samples, March 1958 to December 2001.

    statsmodels ships 2284 weekly values (``statsmodels.datasets.co2``), 59 of them missing.
    Each month's value is the mean of the weeks that were measured in it; the 5 months in which
    no week was measured (June and October 1958, February to April 1964) get the straight line
    between their neighbouring months, and :attr:`Series.filled` lists them. A forecast
    evaluated on those months is evaluated partly on the interpolation.

    Returns:
        A :class:`Series` of 526 months with ``period = 12``.

    Example:
        >>> co2 = co2_monthly()
        >>> len(co2), co2.period, len(co2.filled), str(co2.index[0].date())
        (526, 12, 5, '1958-03-01')
    """
    from statsmodels.datasets import co2

    weekly = co2.load_pandas().data["co2"]
    monthly = weekly.resample("MS").mean()  # NaN where no week of the month was measured
    filled = tuple(int(i) for i in np.flatnonzero(monthly.isna().to_numpy()))
    monthly = monthly.interpolate("linear")
    return Series(
        values=monthly.to_numpy(dtype=np.float64),
        index=monthly.index,
        name="CO2 at Mauna Loa, monthly mean",
        unit="ppm",
        period=12,
        filled=filled,
    )


def sunspots_yearly() -> Series:
    """The yearly mean sunspot number, 1700 to 2008 (``statsmodels.datasets.sunspots``).

    No value is missing. The cycle (Schwabe's) lasts about 11 years but between roughly 9 and
    14, so ``period = 11`` is a rough season: a seasonal-naive forecast with it drifts out of
    phase.

    Returns:
        A :class:`Series` of 309 years; its index holds the years as ints.

    Example:
        >>> s = sunspots_yearly()
        >>> len(s), s.period, int(s.index[0]), int(s.index[-1])
        (309, 11, 1700, 2008)
    """
    from statsmodels.datasets import sunspots

    data = sunspots.load_pandas().data
    return Series(
        values=data["SUNACTIVITY"].to_numpy(dtype=np.float64),
        index=data["YEAR"].astype(int).to_numpy(),
        name="yearly mean sunspot number",
        unit="sunspots",
        period=11,
    )


def _check_count(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"expected {name} to be an int >= {low}, got {value!r}")
    return int(value)


def chronological_split(length: int, n_valid: int, n_test: int) -> tuple[slice, slice, slice]:
    """Cut ``range(length)`` into a training, a validation and a test block, in time order.

    The last ``n_test`` steps are the test period, the ``n_valid`` before them the validation
    period, everything earlier the training period. Nothing is shuffled: a model is always
    judged on a period later than the one it learned from, as it will be used.

    Args:
        length: the length n of the series.
        n_valid: steps in the validation block (at least 1).
        n_test: steps in the test block (at least 1).

    Returns:
        Three slices ``(train, valid, test)``; ``values[train]`` etc. are the blocks.

    Raises:
        ValueError: if a count is not a positive int, or nothing is left for training.

    Example:
        >>> chronological_split(10, 2, 3)
        (slice(0, 5, None), slice(5, 7, None), slice(7, 10, None))
    """
    length = _check_count("length", length, 1)
    n_valid = _check_count("n_valid", n_valid, 1)
    n_test = _check_count("n_test", n_test, 1)
    n_train = length - n_valid - n_test
    if n_train < 1:
        raise ValueError(
            f"a series of length {length} leaves no training steps after n_valid={n_valid} "
            f"and n_test={n_test}"
        )
    return slice(0, n_train), slice(n_train, n_train + n_valid), slice(n_train + n_valid, length)


@dataclass(frozen=True)
class Scaler:
    """Standardisation :math:`z = (y - \\mu) / \\sigma` with :math:`\\mu, \\sigma` from one block.

    Make it with :meth:`fit` on the training block only. Statistics taken from the whole
    series would carry the level of the validation and test periods into training, one of the
    leaks that make a forecast look better than it is.

    Attributes:
        mean: :math:`\\mu`.
        scale: :math:`\\sigma`, the population standard deviation (``ddof = 0``).

    Example:
        >>> s = Scaler.fit(np.array([1.0, 2.0, 3.0]))
        >>> round(s.mean, 3), round(s.scale, 3)
        (2.0, 0.816)
        >>> s.inverse(s.transform(np.array([4.0])))
        array([4.])
    """

    mean: float
    scale: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.mean) and np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(
                f"expected a finite mean and a finite scale > 0, got mean={self.mean!r}, "
                f"scale={self.scale!r}"
            )

    @classmethod
    def fit(cls, values: Array) -> Scaler:
        """The scaler whose mean and standard deviation are those of ``values``, shape ``(n,)``.

        Raises:
            ValueError: if ``values`` is not 1-D, has fewer than 2 values, is not finite, or
                is constant.
        """
        arr = _as_numpy(values, "values")
        if arr.ndim != 1 or arr.size < 2:
            raise ValueError(f"expected values of shape (n,) with n >= 2, got {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError("expected finite values, got NaN or inf")
        scale = float(arr.std())
        if scale == 0:
            raise ValueError("expected values that are not all equal (their scale is 0)")
        return cls(float(arr.mean()), scale)

    def transform(self, values: Array) -> Array:
        """:math:`(y - \\mu) / \\sigma`, elementwise; an array or tensor of any shape."""
        return (values - self.mean) / self.scale

    def inverse(self, values: Array) -> Array:
        """:math:`\\sigma z + \\mu`, elementwise: back to the series' units."""
        return values * self.scale + self.mean


class Windows(NamedTuple):
    """Pairs of known past and future to forecast, one per forecast origin.

    Its three fields: ``inputs`` ``(N, L)``, row i holding ``values[t - L : t]`` for origin
    ``t = origins[i]``; ``targets`` ``(N, H)``, row i holding ``values[t : t + H]``; ``origins``
    ``(N,)``, the position ``t`` of each row's first target.
    """

    inputs: Array
    targets: Array
    origins: np.ndarray


def _as_numpy(values: Array, name: str) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    if isinstance(values, np.ndarray):
        return values
    raise TypeError(f"expected {name} to be a NumPy array or a torch tensor, got "
                    f"{type(values).__name__}")


def sliding_windows(
    values: Array, input_length: int, horizon: int, *, targets_in: slice | None = None
) -> Windows:
    """Every window of ``input_length`` values followed by ``horizon`` targets.

    For each forecast origin t, the inputs are the L values before t and the targets the H
    values from t on:

    .. math:: x^{(t)} = (y_{t-L}, \\dots, y_{t-1}), \\qquad
              y^{(t)} = (y_t, \\dots, y_{t+H-1}).

    Consecutive origins are one step apart, so windows overlap. With ``targets_in`` only the
    origins whose H targets all lie inside that block are kept; their inputs may reach back
    before the block, into values that are known at time t. This is how the windows of a
    validation or test block are made without letting a training window's targets reach into
    it.

    Args:
        values: the series, shape ``(n,)``, a NumPy array or a tensor.
        input_length: L, at least 1.
        horizon: H, at least 1.
        targets_in: a slice of positions (step 1) that must contain every target; ``None``
            means the whole series.

    Returns:
        :class:`Windows` ``(inputs, targets, origins)``; inputs and targets are of the same
        kind (array or tensor), dtype and device as ``values``, origins a NumPy int array.

    Raises:
        TypeError: if ``values`` is neither an array nor a tensor, or ``targets_in`` is not
            a slice.
        ValueError: if ``values`` is not 1-D, L or H is not a positive int, the slice has a
            step other than 1, or no window fits.

    Example:
        >>> w = sliding_windows(np.arange(6), input_length=3, horizon=2)
        >>> w.inputs
        array([[0, 1, 2],
               [1, 2, 3]])
        >>> w.targets, w.origins
        (array([[3, 4],
               [4, 5]]), array([3, 4]))
        >>> sliding_windows(np.arange(6), 2, 1, targets_in=slice(4, 6)).origins
        array([4, 5])
    """
    if not isinstance(values, (np.ndarray, torch.Tensor)):
        raise TypeError(
            f"expected values to be a NumPy array or a torch tensor, got {type(values).__name__}"
        )
    if values.ndim != 1:
        raise ValueError(f"expected values of shape (n,), got {tuple(values.shape)}")
    input_length = _check_count("input_length", input_length, 1)
    horizon = _check_count("horizon", horizon, 1)
    n = len(values)
    if targets_in is None:
        targets_in = slice(None)
    if not isinstance(targets_in, slice):
        raise TypeError(f"expected targets_in to be a slice or None, got {targets_in!r}")
    start, stop, step = targets_in.indices(n)
    if step != 1:
        raise ValueError(f"expected targets_in with step 1, got {targets_in!r}")
    first, last = max(start, input_length), stop - horizon  # the origins that fit
    if last < first:
        raise ValueError(
            f"no window fits: input_length={input_length} and horizon={horizon} need origins t "
            f"with t >= {input_length} and targets inside positions [{start}, {stop}) of a "
            f"series of length {n}"
        )
    origins = np.arange(first, last + 1)
    lags = np.arange(-input_length, horizon)  # (L + H,): positions relative to the origin
    rows = origins[:, None] + lags  # (N, L + H)
    if isinstance(values, torch.Tensor):
        rows = torch.as_tensor(rows, device=values.device)
    both = values[rows]  # (N, L + H)
    return Windows(both[:, :input_length], both[:, input_length:], origins)
