import warnings

import numpy as np
import pytest
import torch

from rnnlib.forecast import (
    direct_forecast,
    mae,
    mase,
    mase_scale,
    recursive_forecast,
    rmse,
    seasonal_naive,
    state_space_forecasts,
)

# --- seasonal naive ------------------------------------------------------------------------


def test_seasonal_naive_repeats_the_last_season_by_hand():
    history = np.array([9, 9, 1, 2, 3, 4])  # m = 4: the last season is 1, 2, 3, 4
    np.testing.assert_array_equal(seasonal_naive(history, 6, 4), [1, 2, 3, 4, 1, 2])


def test_seasonal_naive_matches_its_formula_for_every_horizon():
    rng = np.random.default_rng(0)
    y = rng.normal(size=40)
    T, m, H = len(y), 12, 30
    expected = [y[T + h - 1 - m * int(np.ceil(h / m))] for h in range(1, H + 1)]
    np.testing.assert_array_equal(seasonal_naive(y, H, m), expected)


def test_seasonal_naive_with_period_one_is_the_naive_forecast():
    np.testing.assert_array_equal(seasonal_naive(np.array([1.0, 5.0]), 3, 1), [5.0, 5.0, 5.0])


def test_seasonal_naive_works_row_by_row_on_tensors(device):
    history = torch.arange(12.0, device=device).reshape(2, 6)
    out = seasonal_naive(history, 4, 3)
    assert out.device.type == device.type
    torch.testing.assert_close(out.cpu(), torch.tensor([[3.0, 4.0, 5.0, 3.0],
                                                        [9.0, 10.0, 11.0, 9.0]]))


@pytest.mark.parametrize(
    "history, H, m, error, message",
    [
        ([1.0, 2.0], 1, 1, TypeError, "NumPy array or a torch tensor"),
        (np.ones(3), 1, 4, ValueError, "L >= period"),
        (np.array(1.0), 1, 1, ValueError, "L >= period"),
        (np.ones(3), 0, 1, ValueError, "horizon"),
        (np.ones(3), 1, 0, ValueError, "period"),
        (np.ones(3), 1, 1.5, ValueError, "period"),
    ],
)
def test_seasonal_naive_rejects_bad_input(history, H, m, error, message):
    with pytest.raises(error, match=message):
        seasonal_naive(history, H, m)


# --- metrics -------------------------------------------------------------------------------


def test_mae_and_rmse_by_hand():
    y, f = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 1.0, 4.0])  # errors 1, 0, 2, 0
    assert mae(y, f) == pytest.approx(0.75)
    assert rmse(y, f) == pytest.approx(np.sqrt(5 / 4))
    assert isinstance(mae(y, f), float)


def test_metrics_per_horizon_with_axis():
    y = np.zeros((3, 2))
    f = np.array([[1.0, -2.0], [1.0, 2.0], [4.0, 2.0]])
    np.testing.assert_allclose(mae(y, f, axis=0), [2.0, 2.0])
    np.testing.assert_allclose(rmse(y, f, axis=0), [np.sqrt(6.0), 2.0])
    np.testing.assert_allclose(mae(y, f, axis=1), [1.5, 1.5, 3.0])


def test_metrics_accept_tensors_on_any_device(device):
    y = torch.tensor([1.0, 2.0], device=device)
    assert mae(y, y + 0.5) == pytest.approx(0.5)
    assert rmse(y.cpu().numpy(), (y + 3).cpu()) == pytest.approx(3.0)


def test_mase_scale_is_the_in_sample_seasonal_naive_error():
    train = np.array([1.0, 5.0, 2.0, 7.0, 4.0])  # m = 2: |2-1|, |7-5|, |4-2| -> q = 5/3
    assert mase_scale(train, 2) == pytest.approx(5 / 3)
    actual, forecast = np.array([6.0, 8.0]), np.array([4.0, 7.0])  # MAE 1.5
    assert mase(actual, forecast, train=train, period=2) == pytest.approx(1.5 / (5 / 3))
    np.testing.assert_allclose(mase(actual[None], forecast[None], train=train, period=2, axis=0),
                               [2.0 / (5 / 3), 1.0 / (5 / 3)])


def test_mase_of_a_forecast_as_good_as_the_in_sample_benchmark_is_one():
    train = np.array([0.0, 1.0, 2.0, 3.0, 4.0])  # q = 1 for m = 1
    assert mase(np.array([6.0, 7.0]), np.array([5.0, 8.0]), train=train, period=1) == 1.0


@pytest.mark.parametrize(
    "actual, forecast, message",
    [
        (np.ones(3), np.ones(4), "same shape"),
        (np.ones((3, 1)), np.ones(3), "same shape"),
        (np.ones(0), np.ones(0), "at least one value"),
    ],
)
def test_metrics_reject_mismatched_shapes_instead_of_broadcasting(actual, forecast, message):
    for metric in (mae, rmse):
        with pytest.raises(ValueError, match=message):
            metric(actual, forecast)


def test_metrics_reject_lists():
    with pytest.raises(TypeError, match="actual"):
        mae([1.0], np.ones(1))


@pytest.mark.parametrize(
    "train, m, message",
    [
        (np.ones(3), 3, "n > period"),
        (np.ones((4, 2)), 1, "shape"),
        (np.ones(5), 0, "period"),
        (np.array([1.0, 2.0, 1.0, 2.0]), 2, "undefined"),  # repeats its season exactly
    ],
)
def test_mase_scale_rejects_bad_input(train, m, message):
    with pytest.raises(ValueError, match=message):
        mase_scale(train, m)


# --- iterated and direct forecasts ---------------------------------------------------------


def test_recursive_forecast_slides_the_window_and_feeds_forecasts_back():
    seen = []

    def one_step(w):
        seen.append(w.clone())
        return w.sum(dim=1)  # (N,)

    out = recursive_forecast(one_step, torch.tensor([[1.0, 2.0]]), 3)
    torch.testing.assert_close(out, torch.tensor([[3.0, 5.0, 8.0]]))  # Fibonacci
    torch.testing.assert_close(seen[2], torch.tensor([[3.0, 5.0]]))  # keeps its length L


def test_recursive_forecast_of_an_exact_ar1_rule_is_the_closed_form():
    phi = 0.8
    x = np.array([[0.0, 2.0], [1.0, -1.0]])
    out = recursive_forecast(lambda w: phi * w[:, -1:], x, 5)  # (N, 1) outputs are fine
    np.testing.assert_allclose(out, x[:, -1:] * phi ** np.arange(1, 6))


def test_recursive_forecast_on_the_device(device):
    x = torch.zeros(3, 4, device=device)
    out = recursive_forecast(lambda w: w[:, -1] + 1, x, 2)
    assert out.device.type == device.type and out.shape == (3, 2)


def test_direct_forecast_checks_the_model_output():
    x = torch.zeros(2, 5)
    out = direct_forecast(lambda w: w[:, :3] + 1, x, 3)
    torch.testing.assert_close(out, torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"return \(2, 4\)"):
        direct_forecast(lambda w: w[:, :3], x, 4)


@pytest.mark.parametrize("fn", [recursive_forecast, direct_forecast])
def test_multi_step_forecasts_reject_bad_input(fn):
    with pytest.raises(ValueError, match=r"shape \(N, L\)"):
        fn(lambda w: w[:, -1], torch.zeros(5), 2)
    with pytest.raises(ValueError, match=r"shape \(N, L\)"):
        fn(lambda w: w[:, -1], [[1.0, 2.0]], 2)
    with pytest.raises(ValueError, match="horizon"):
        fn(lambda w: w[:, -1], torch.zeros(1, 2), 0)


def test_recursive_forecast_rejects_a_model_with_the_wrong_output_shape():
    with pytest.raises(ValueError, match=r"return shape \(2,\) or \(2, 1\)"):
        recursive_forecast(lambda w: w, torch.zeros(2, 3), 2)


# --- state-space forecasts from many origins ------------------------------------------------


@pytest.fixture(scope="module")
def sarima():
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    rng = np.random.default_rng(0)
    t = np.arange(120)
    y = 0.1 * t + np.sin(2 * np.pi * t / 12) + rng.normal(scale=0.3, size=len(t))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = SARIMAX(y[:90], order=(1, 1, 0), seasonal_order=(0, 1, 1, 12)).fit(disp=False)
    return fit, y


def test_state_space_forecasts_equal_statsmodels_forecast_at_each_origin(sarima):
    fit, y = sarima
    origins = np.array([60, 90, 100, 108, 120])
    out = state_space_forecasts(fit, y, origins, 6)
    assert out.shape == (5, 6)
    for row, t in zip(out, origins, strict=True):
        np.testing.assert_allclose(row, fit.apply(y[:t]).forecast(6), rtol=1e-9, atol=1e-9)


def test_state_space_forecasts_of_statsmodels_exponential_smoothing():
    from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

    t = np.arange(96)
    y = 10 + 0.2 * t + np.cos(2 * np.pi * t / 12) + np.random.default_rng(1).normal(size=96)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ExponentialSmoothing(y[:72], trend=True, seasonal=12).fit(disp=False)
    out = state_space_forecasts(fit, y, np.array([72, 84]), 5)
    for row, origin in zip(out, (72, 84), strict=True):
        np.testing.assert_allclose(row, fit.apply(y[:origin]).forecast(5), rtol=1e-9, atol=1e-9)


def test_state_space_forecasts_reject_a_time_varying_model():
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    y = np.cumsum(np.random.default_rng(1).normal(loc=0.5, size=80))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = SARIMAX(y[:60], order=(1, 0, 0), trend="ct").fit(disp=False)  # a time trend
    with pytest.raises(ValueError, match="time-invariant"):
        state_space_forecasts(fit, y, np.array([60, 70]), 4)


@pytest.mark.parametrize(
    "origins, message",
    [
        (np.array([0, 5]), r"origins in \[1, 120\]"),
        (np.array([121]), r"origins in \[1, 120\]"),
        (np.array([1.5]), "int array"),
        (np.array([], dtype=int), "non-empty"),
        (np.array([[5]]), "1-D"),
    ],
)
def test_state_space_forecasts_reject_bad_origins(sarima, origins, message):
    fit, y = sarima
    with pytest.raises(ValueError, match=message):
        state_space_forecasts(fit, y, origins, 3)


def test_state_space_forecasts_reject_bad_values_and_horizon(sarima):
    fit, y = sarima
    with pytest.raises(ValueError, match=r"shape \(n,\)"):
        state_space_forecasts(fit, y[:, None], np.array([5]), 3)
    with pytest.raises(ValueError, match="horizon"):
        state_space_forecasts(fit, y, np.array([5]), 0)
