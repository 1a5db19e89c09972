"""Tests for rnnlib.gradients: the measured dS_T/dS_t agrees with the product of Jacobians."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

from rnnlib.gradients import plot_jacobian_norms, state_jacobian_norms, state_jacobians

matplotlib.use("Agg")


class LinearRNN(nn.Module):
    """S_t = U x_t + W S_{t-1}: no activation, torch.nn.RNN's interface (one layer, seq first)."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.randn(hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.randn(hidden_size, hidden_size))

    def forward(self, x, hx=None):
        s = x.new_zeros(x.shape[1], self.hidden_size) if hx is None else hx[0]
        outputs = []
        for x_t in x:  # (N, H_in)
            s = x_t @ self.weight_ih.T + s @ self.weight_hh.T
            outputs.append(s)
        return torch.stack(outputs), s.unsqueeze(0)


def _tanh_rnn(hidden_size: int = 3, seed: int = 0) -> nn.RNN:
    torch.manual_seed(seed)
    return nn.RNN(2, hidden_size).double()


def test_tanh_rnn_jacobians_equal_the_hand_computed_product_diag_f_prime_times_w():
    layer = _tanh_rnn()
    x = torch.randn(5, 2, 2, dtype=torch.float64)  # (L, N, H_in)
    states, _ = layer(x)  # S_1 .. S_L, (L, N, H)
    w = layer.weight_hh_l0.detach()
    length, batch, hidden = states.shape
    jacobians = state_jacobians(layer, x)  # (N, L, H, H), index k = lag
    for n in range(batch):
        product = torch.eye(hidden, dtype=torch.float64)
        for lag in range(length):
            t = length - lag  # S_t is states[t - 1]
            torch.testing.assert_close(jacobians[n, lag], product)
            # dS_t/dS_{t-1} = diag(1 - S_t^2) W for tanh
            step = torch.diag(1 - states[t - 1, n].detach() ** 2) @ w
            product = product @ step


def test_norms_are_the_batch_mean_of_the_jacobians_frobenius_and_spectral_norms():
    layer = _tanh_rnn(hidden_size=4)
    x = torch.randn(6, 3, 2, dtype=torch.float64)
    jacobians = state_jacobians(layer, x)
    fro = state_jacobian_norms(layer, x)
    spectral = state_jacobian_norms(layer, x, norm="spectral")
    torch.testing.assert_close(fro, torch.linalg.matrix_norm(jacobians).mean(0))
    torch.testing.assert_close(spectral, torch.linalg.matrix_norm(jacobians, ord=2).mean(0))
    assert fro.shape == (6,)
    assert torch.all(spectral <= fro + 1e-12)


@pytest.mark.parametrize("a", [0.5, 1.0, 1.2])
def test_linear_rnn_with_w_equal_a_times_identity_gives_a_to_the_lag_times_sqrt_h(a):
    hidden, length = 5, 8
    layer = LinearRNN(2, hidden).double()
    with torch.no_grad():
        layer.weight_hh.copy_(a * torch.eye(hidden, dtype=torch.float64))
    x = torch.randn(length, 4, 2, dtype=torch.float64)
    lags = torch.arange(length, dtype=torch.float64)
    expected = a**lags * math.sqrt(hidden)
    torch.testing.assert_close(state_jacobian_norms(layer, x), expected)
    torch.testing.assert_close(state_jacobian_norms(layer, x, norm="spectral"), a**lags)


def test_relu_rnn_in_its_linear_regime_matches_a_to_the_lag_on_every_device(device):
    hidden, length, a = 4, 10, 1.1
    layer = nn.RNN(1, hidden, nonlinearity="relu", batch_first=True).to(device)
    with torch.no_grad():
        layer.weight_hh_l0.copy_(a * torch.eye(hidden))
        layer.weight_ih_l0.fill_(1.0)
        layer.bias_ih_l0.fill_(0.5)  # pre-activations stay positive, so ReLU' = 1
        layer.bias_hh_l0.zero_()
    x = torch.rand(3, length, 1, device=device)  # (N, L, H_in), batch first
    norms = state_jacobian_norms(layer, x)
    assert norms.device.type == device.type
    expected = a ** torch.arange(length, dtype=torch.float32) * math.sqrt(hidden)
    torch.testing.assert_close(norms.cpu(), expected, rtol=1e-5, atol=1e-6)


def _run_from(layer, x, start, hx):
    """S_L as a function of the state after step `start`, by one full-sequence call."""
    _, out = layer(x[start:], hx)
    return out


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.RNN])
def test_stepwise_jacobians_match_autograd_functional_jacobian_of_a_full_sequence_call(cls):
    torch.manual_seed(1)
    layer = cls(2, 3, num_layers=2).double()
    x = torch.randn(5, 2, 2, dtype=torch.float64)
    jacobians = state_jacobians(layer, x)  # (N, L, S, S)
    lag = 3
    start = x.shape[0] - lag  # S_start is the state after `start` steps
    _, hx = layer(x[:start])
    for n in range(x.shape[1]):
        if cls is nn.LSTM:

            def f(h, c, n=n):
                full = (hx[0].clone(), hx[1].clone())
                full[0][:, n], full[1][:, n] = h, c
                h_l, c_l = _run_from(layer, x, start, full)
                return torch.cat([h_l[:, n].reshape(-1), c_l[:, n].reshape(-1)])

            parts = torch.autograd.functional.jacobian(f, (hx[0][:, n], hx[1][:, n]))
            expected = torch.cat([p.reshape(12, -1) for p in parts], dim=1)
        else:

            def f(h, n=n):
                full = hx.clone()
                full[:, n] = h
                return _run_from(layer, x, start, full)[:, n].reshape(-1)

            expected = torch.autograd.functional.jacobian(f, hx[:, n]).reshape(6, 6)
        torch.testing.assert_close(jacobians[n, lag], expected)


def test_lstm_state_h_and_c_are_the_diagonal_blocks_of_the_full_jacobian():
    torch.manual_seed(2)
    layer = nn.LSTM(1, 3, batch_first=True).double()
    x = torch.randn(2, 6, 1, dtype=torch.float64)
    full = state_jacobians(layer, x)  # (N, L, 6, 6)
    torch.testing.assert_close(state_jacobians(layer, x, state="h"), full[..., :3, :3])
    torch.testing.assert_close(state_jacobians(layer, x, state="c"), full[..., 3:, 3:])


def test_given_h0_is_used_and_left_unchanged():
    layer = _tanh_rnn()
    x = torch.randn(4, 2, 2, dtype=torch.float64)
    h0 = torch.full((1, 2, 3), 0.9, dtype=torch.float64)
    before = h0.clone()
    with_h0 = state_jacobians(layer, x, h0)
    assert not torch.allclose(with_h0, state_jacobians(layer, x))
    torch.testing.assert_close(h0, before)
    assert not h0.requires_grad


def test_works_inside_no_grad_and_with_frozen_parameters():
    layer = _tanh_rnn().requires_grad_(False)
    x = torch.randn(4, 2, 2, dtype=torch.float64)
    with torch.no_grad():
        norms = state_jacobian_norms(layer, x)
    assert torch.isfinite(norms).all() and norms[0].item() == pytest.approx(math.sqrt(3))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"x": torch.randn(4, 2)}, ValueError, "batch of sequences"),
        ({"x": [[1.0]]}, TypeError, "torch.Tensor"),
        ({"norm": "nuclear"}, ValueError, "norm"),
        ({"state": "cell"}, ValueError, "state"),
        ({"state": "c"}, ValueError, "needs an LSTM"),
        ({"h0": torch.zeros(1, 5, 3)}, ValueError, "N=2"),
    ],
)
def test_invalid_arguments_raise_clear_errors(kwargs, error, message):
    layer = nn.RNN(2, 3)
    args = {"x": torch.randn(4, 2, 2), **kwargs}
    with pytest.raises(error, match=message):
        state_jacobian_norms(layer, **args)


def test_bidirectional_layers_are_rejected():
    with pytest.raises(ValueError, match="unidirectional"):
        state_jacobians(nn.GRU(2, 3, bidirectional=True), torch.randn(4, 2, 2))


def test_plot_draws_one_line_per_result_on_a_log_axis_and_skips_zeros_and_nans():
    import matplotlib.pyplot as plt

    results = {"tanh": torch.tensor([1.0, 0.5, 0.0, float("nan")]), "relu": [1.0, 2.0, 4.0]}
    ax = plot_jacobian_norms(results)
    assert ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.get_lines()] == ["tanh", "relu"]
    assert np.isnan(ax.get_lines()[0].get_ydata()[2:]).all()
    assert "lag" in ax.get_xlabel()
    plt.close(ax.figure)


@pytest.mark.parametrize("bad", [{}, [1.0, 2.0], {"a": np.ones((2, 2))}])
def test_plot_rejects_empty_or_malformed_results(bad):
    with pytest.raises(ValueError, match="expected"):
        plot_jacobian_norms(bad)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_rnnlib_layers_give_the_same_jacobians_as_their_torch_nn_twins(name):
    import rnnlib

    torch.manual_seed(3)
    ours = getattr(rnnlib, name)(2, 4, batch_first=True).double()
    theirs = getattr(nn, name)(2, 4, batch_first=True).double()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(3, 7, 2, dtype=torch.float64)  # (N, L, H_in)
    torch.testing.assert_close(state_jacobians(ours, x), state_jacobians(theirs, x))


def test_splitting_the_units_into_blocks_gives_the_same_jacobians(monkeypatch):
    import rnnlib.gradients as gradients

    torch.manual_seed(4)
    layer = nn.LSTM(2, 3).double()
    x = torch.randn(5, 4, 2, dtype=torch.float64)  # (L, N, H_in); S = 6 units
    whole = state_jacobians(layer, x)
    monkeypatch.setattr(gradients, "_MAX_ROWS", 8)  # 8 // N = 2 units per backward pass
    torch.testing.assert_close(state_jacobians(layer, x), whole)
    torch.testing.assert_close(
        state_jacobian_norms(layer, x), torch.linalg.matrix_norm(whole).mean(0)
    )
