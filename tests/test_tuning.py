"""rnnlib.tuning: the learning-rate range test, its smoothing and its rule."""

import math

import numpy as np
import pytest
import torch
from torch import nn

import rnnlib as rl
from rnnlib.tuning import RULE, lr_range_test, smooth_losses, suggest_lr


def mse(model, x, y):
    return ((model(x) - y) ** 2).mean()


def regression(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g) * torch.tensor([1.0, 2.0, 0.5])
    return x, x.sum(1, keepdim=True) + 0.3 * torch.randn(n, 1, generator=g)


def test_smoothing_equals_the_weighted_sum_it_defines():
    rng = np.random.default_rng(0)
    losses = rng.uniform(0, 5, size=40)
    beta = 0.9
    got = smooth_losses(losses.tolist(), beta)
    for i in range(len(losses)):  # m_i = sum_j (1 - beta) beta^(i-j) l_j, then / (1 - beta^(i+1))
        weights = (1 - beta) * beta ** np.arange(i, -1, -1)
        assert got[i] == pytest.approx(weights @ losses[: i + 1] / (1 - beta ** (i + 1)))
    assert smooth_losses([3.0] * 5, 0.98) == pytest.approx([3.0] * 5)
    assert smooth_losses([1.0, 2.0], 0.0) == [1.0, 2.0]


def test_the_rule_is_the_argmin_divided_by_the_factor():
    lrs = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    smoothed = [2.0, 1.8, 1.1, math.nan, math.inf]
    assert suggest_lr(lrs, smoothed) == (1e-2, 1e-3)
    assert suggest_lr(lrs, smoothed, factor=2) == (1e-2, 5e-3)
    assert "divided by 10" in RULE


def test_learning_rates_grow_geometrically_and_losses_are_taken_before_each_update():
    x, y = regression()
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    first_batch_loss = mse(model, x[:16], y[:16]).item()  # shuffle=False: batch 0 is rows 0-15
    cfg = rl.FitConfig(optimizer="sgd", batch_size=16, shuffle=False)
    result = lr_range_test(model, mse, (x, y), cfg, lr_min=1e-5, lr_max=1e-2, steps=50)
    assert not result.stopped_early
    np.testing.assert_allclose(result.lrs, np.geomspace(1e-5, 1e-2, 50), rtol=1e-12)
    assert result.losses[0] == pytest.approx(first_batch_loss)
    assert result.smoothed == pytest.approx(smooth_losses(result.losses, 0.98))
    assert result.suggested_lr == pytest.approx(result.lr_at_min / 10)


def test_the_suggestion_is_below_the_rate_at_which_gradient_descent_diverges():
    """Full-batch gradient descent on a quadratic diverges for lr > 2 / lambda_max(Hessian)."""
    x, y = regression()
    design = torch.cat([x, torch.ones(len(x), 1)], dim=1).double()
    hessian = 2 * design.T @ design / len(x)  # of the mean squared error in (w, b)
    critical = 2 / torch.linalg.eigvalsh(hessian).max().item()
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    cfg = rl.FitConfig(optimizer="sgd", batch_size=len(x))
    result = lr_range_test(model, mse, (x, y), cfg, lr_min=1e-4, lr_max=10.0, steps=150)
    assert result.stopped_early, "the loss must diverge before lr_max = 10"
    assert result.lrs[-1] > critical, "it stopped only after passing the critical rate"
    assert result.suggested_lr < critical < 10 * result.lr_at_min
    before = rl.evaluate(model, mse, (x, y))
    h = rl.fit(model, mse, (x, y), config=rl.FitConfig(
        optimizer="sgd", batch_size=len(x), lr=result.suggested_lr, epochs=100))
    assert math.isfinite(h.train_loss[-1]) and h.train_loss[-1] < 0.2 * before


def test_the_model_is_restored_unless_asked_not_to():
    x, y = regression(64)
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.1), nn.Linear(4, 1))
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    lr_range_test(model, mse, (x, y), steps=20)
    assert not model.training, "the training mode is restored too"
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    lr_range_test(model, mse, (x, y), steps=20, lr_min=1e-3, restore=False)
    assert not torch.equal(model[0].weight, before["0.weight"])


def test_a_loss_that_becomes_nan_stops_the_test():
    x, y = regression(64)
    calls = []

    def loss_fn(model, x, y):
        calls.append(1)
        loss = mse(model, x, y)
        return loss if len(calls) < 8 else loss * math.nan

    result = lr_range_test(nn.Linear(3, 1), loss_fn, (x, y), steps=50)
    assert result.stopped_early and len(result.lrs) == 8
    assert math.isinf(result.smoothed[-1]) and result.lr_at_min < result.lrs[-1]


def test_it_runs_on_every_device(device):
    x, y = regression(64)
    model = nn.Linear(3, 1).to(device)
    result = lr_range_test(model, mse, (x, y), steps=10)
    assert len(result.lrs) == 10 and all(math.isfinite(v) for v in result.losses)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr_min": 1.0, "lr_max": 0.1}, "0 < lr_min < lr_max"),
        ({"lr_min": 0.0}, "0 < lr_min < lr_max"),
        ({"steps": 1}, "steps to be an int >= 2"),
        ({"steps": 10.0}, "steps to be an int >= 2"),
        ({"beta": 1.0}, r"beta in \[0, 1\)"),
        ({"divergence": 1.0}, "divergence > 1"),
        ({"factor": 0.5}, "factor >= 1"),
    ],
)
def test_bad_settings_are_rejected(kwargs, match):
    x, y = regression(32)
    with pytest.raises(ValueError, match=match):
        lr_range_test(nn.Linear(3, 1), mse, (x, y), **kwargs)


def test_bad_arguments_are_rejected():
    x, y = regression(32)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        lr_range_test(lambda x: x, mse, (x, y))
    with pytest.raises(TypeError, match="FitConfig"):
        lr_range_test(nn.Linear(3, 1), mse, (x, y), {"lr": 1.0})
    with pytest.raises(ValueError, match="share their first"):
        lr_range_test(nn.Linear(3, 1), mse, (x, y[:5]))
    with pytest.raises(ValueError, match="as many learning rates as losses"):
        suggest_lr([1e-3, 1e-2], [1.0])
    with pytest.raises(ValueError, match="nan or inf"):
        suggest_lr([1e-3], [math.nan])
