import numpy as np
import pytest
import torch

from rnnlib.data.series import (
    Scaler,
    Series,
    Windows,
    chronological_split,
    co2_monthly,
    sliding_windows,
    sunspots_yearly,
)

# --- loaders -------------------------------------------------------------------------------


def test_co2_monthly_is_the_mean_of_each_months_weeks():
    from statsmodels.datasets import co2

    weekly = co2.load_pandas().data["co2"]
    series = co2_monthly()
    assert isinstance(series, Series) and series.period == 12 and series.unit == "ppm"
    assert len(series) == 526 and series.values.dtype == np.float64
    assert np.isfinite(series.values).all()
    # January 1990 by hand: the weeks measured in that month, averaged
    weeks = weekly["1990-01-01":"1990-01-31"].dropna()
    i = series.index.get_loc(np.datetime64("1990-01-01"))
    assert series.values[i] == pytest.approx(weeks.mean())
    first, last = series.index[0].date(), series.index[-1].date()
    assert (str(first), str(last)) == ("1958-03-01", "2001-12-01")


def test_co2_monthly_fills_the_months_without_a_measurement_by_a_straight_line():
    from statsmodels.datasets import co2

    weekly = co2.load_pandas().data["co2"]
    series = co2_monthly()
    months = [str(series.index[i].date())[:7] for i in series.filled]
    assert months == ["1958-06", "1958-10", "1964-02", "1964-03", "1964-04"]
    for i in series.filled:
        month = series.index[i]
        assert weekly[month : month + np.timedelta64(27, "D")].dropna().empty
    # February to April 1964: three equal steps from January to May
    jan, may = series.values[series.filled[2] - 1], series.values[series.filled[4] + 1]
    np.testing.assert_allclose(series.values[list(series.filled[2:])],
                               jan + (may - jan) * np.array([1, 2, 3]) / 4)


def test_sunspots_yearly_covers_1700_to_2008():
    s = sunspots_yearly()
    assert len(s) == 309 and s.period == 11 and s.filled == ()
    assert s.index[0] == 1700 and s.index[-1] == 2008
    assert s.values[0] == 5.0 and s.values[-1] == pytest.approx(2.9)
    assert (s.values >= 0).all()


def test_to_pandas_keeps_values_and_index():
    s = co2_monthly()
    p = s.to_pandas()
    np.testing.assert_array_equal(p.to_numpy(), s.values)
    assert p.index.equals(s.index) and p.name == s.name


# --- chronological split -------------------------------------------------------------------


def test_chronological_split_gives_consecutive_blocks_covering_the_series():
    train, valid, test = chronological_split(526, 72, 72)
    assert (train, valid, test) == (slice(0, 382), slice(382, 454), slice(454, 526))
    values = np.arange(526)
    assert np.array_equal(np.concatenate([values[train], values[valid], values[test]]), values)


@pytest.mark.parametrize(
    "args, message",
    [
        ((10, 0, 3), "n_valid"),
        ((10, 2, -1), "n_test"),
        ((10, 2.0, 3), "n_valid"),
        ((10, True, 3), "n_valid"),
        (("10", 2, 3), "length"),
        ((5, 2, 3), "no training steps"),
    ],
)
def test_chronological_split_rejects_bad_counts(args, message):
    with pytest.raises(ValueError, match=message):
        chronological_split(*args)


# --- scaler --------------------------------------------------------------------------------


def test_scaler_uses_the_mean_and_population_std_of_what_it_is_fitted_on():
    values = np.array([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])  # mean 5, std 2
    s = Scaler.fit(values)
    assert (s.mean, s.scale) == (5.0, 2.0)
    np.testing.assert_allclose(s.transform(values), (values - 5.0) / 2.0)
    np.testing.assert_allclose(s.inverse(s.transform(values)), values)


def test_scaler_works_on_tensors_and_keeps_them_tensors():
    s = Scaler.fit(torch.tensor([1.0, 3.0]))
    z = s.transform(torch.tensor([[1.0, 2.0, 3.0]]))
    assert isinstance(z, torch.Tensor)
    torch.testing.assert_close(z, torch.tensor([[-1.0, 0.0, 1.0]]))
    torch.testing.assert_close(s.inverse(z), torch.tensor([[1.0, 2.0, 3.0]]))


def test_scaler_fitted_on_training_block_differs_from_all_data_on_a_trend():
    y = np.arange(100.0)
    train, _, _ = chronological_split(100, 10, 10)
    assert Scaler.fit(y[train]).mean == pytest.approx(39.5)
    assert Scaler.fit(y).mean == pytest.approx(49.5)


@pytest.mark.parametrize(
    "values, error, message",
    [
        (np.array([1.0]), ValueError, "n >= 2"),
        (np.ones((3, 2)), ValueError, "shape"),
        (np.array([1.0, np.nan, 2.0]), ValueError, "finite"),
        (np.array([3.0, 3.0, 3.0]), ValueError, "not all equal"),
        ([1.0, 2.0], TypeError, "NumPy array or a torch tensor"),
    ],
)
def test_scaler_fit_rejects_bad_values(values, error, message):
    with pytest.raises(error, match=message):
        Scaler.fit(values)


def test_scaler_rejects_a_zero_or_nonfinite_scale():
    with pytest.raises(ValueError, match="scale > 0"):
        Scaler(0.0, 0.0)
    with pytest.raises(ValueError, match="finite"):
        Scaler(float("nan"), 1.0)


# --- sliding windows -----------------------------------------------------------------------


def test_sliding_windows_match_a_plain_loop():
    rng = np.random.default_rng(0)
    y = rng.normal(size=30)
    L, H = 5, 3
    w = sliding_windows(y, L, H)
    expected = [(y[t - L : t], y[t : t + H], t) for t in range(L, len(y) - H + 1)]
    assert isinstance(w, Windows) and w.inputs.shape == (len(expected), L)
    assert w.targets.shape == (len(expected), H)
    for row, (x, target, t) in enumerate(expected):
        np.testing.assert_array_equal(w.inputs[row], x)
        np.testing.assert_array_equal(w.targets[row], target)
        assert w.origins[row] == t


def test_targets_in_keeps_every_target_inside_the_block_and_lets_inputs_reach_back():
    y = np.arange(20.0)
    w = sliding_windows(y, 4, 3, targets_in=slice(10, 16))
    assert w.origins.tolist() == [10, 11, 12, 13]
    assert w.targets.min() >= 10 and w.targets.max() <= 15
    np.testing.assert_array_equal(w.inputs[0], [6.0, 7.0, 8.0, 9.0])  # known before the block


def test_train_and_valid_windows_share_no_target_position():
    y = np.arange(100.0)
    train, valid, _ = chronological_split(100, 20, 20)
    tr = sliding_windows(y, 8, 6, targets_in=train)
    va = sliding_windows(y, 8, 6, targets_in=valid)
    assert tr.targets.max() < va.targets.min() == valid.start


def test_targets_in_accepts_negative_and_open_slices():
    y = np.arange(10.0)
    assert sliding_windows(y, 2, 1, targets_in=slice(-3, None)).origins.tolist() == [7, 8, 9]


def test_sliding_windows_on_tensors_keep_dtype_and_device(device):
    z = torch.arange(12, dtype=torch.float64, device=device)
    w = sliding_windows(z, 3, 2)
    assert isinstance(w.inputs, torch.Tensor) and w.inputs.device.type == device.type
    assert w.inputs.dtype == torch.float64 and w.targets.shape == (8, 2)
    torch.testing.assert_close(w.targets[0].cpu(), torch.tensor([3.0, 4.0], dtype=torch.float64))
    assert isinstance(w.origins, np.ndarray)


@pytest.mark.parametrize(
    "values, L, H, targets_in, error, message",
    [
        ([1.0, 2.0, 3.0], 1, 1, None, TypeError, "NumPy array or a torch tensor"),
        (np.ones((4, 2)), 1, 1, None, ValueError, r"shape \(n,\)"),
        (np.ones(10), 0, 1, None, ValueError, "input_length"),
        (np.ones(10), 2, 0, None, ValueError, "horizon"),
        (np.ones(10), 2.5, 1, None, ValueError, "input_length"),
        (np.ones(10), 2, 1, (0, 5), TypeError, "slice"),
        (np.ones(10), 2, 1, slice(0, 10, 2), ValueError, "step 1"),
        (np.ones(10), 8, 3, None, ValueError, "no window fits"),
        (np.ones(10), 2, 4, slice(5, 8), ValueError, "no window fits"),
    ],
)
def test_sliding_windows_reject_bad_input(values, L, H, targets_in, error, message):
    with pytest.raises(error, match=message):
        sliding_windows(values, L, H, targets_in=targets_in)
