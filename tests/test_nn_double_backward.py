"""Second-order gradients through the default (fused) layers.

The fused recurrence's hand-written backward is first-order only; when a graph of the backward
is wanted (``create_graph=True``) it recomputes through the plain cell loop with autograd (see
:mod:`rnnlib.nn._functional`). These tests check the result against finite differences
(``gradgradcheck``) and against the plain loop (``fused = False``).
"""

import pytest
import torch
from torch.autograd import gradgradcheck
from torch.nn.utils.rnn import pack_padded_sequence

import rnnlib
from rnnlib.nn import _functional

F64 = torch.float64
H_IN, H, L, N = 2, 3, 4, 3
LAYERS = ["RNN", "LSTM", "GRU"]
VARIANTS = [(name, {}) for name in LAYERS] + [("LSTM", {"proj_size": 2})]  # and projections


def _layer(name, **kwargs):
    torch.manual_seed(0)
    return getattr(rnnlib, name)(H_IN, H, dtype=F64, **kwargs)


def _output(layer, x):
    """The layer's output as a tensor, whatever the input (padded or packed)."""
    output = layer(x)[0]
    return output.data if isinstance(output, torch.nn.utils.rnn.PackedSequence) else output


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize(("name", "extra"), VARIANTS, ids=[*LAYERS, "LSTM-proj"])
def test_gradgradcheck_on_the_fused_layer(name, extra, bidirectional):
    """Also with projections: the recompute path carries W_hr (proj_size)."""
    layer = _layer(name, num_layers=2, bidirectional=bidirectional, **extra)
    assert layer.fused
    x = torch.randn(L, N, H_IN, dtype=F64, requires_grad=True)
    params = tuple(layer.parameters())
    assert gradgradcheck(lambda x, *p: layer(x)[0], (x, *params), fast_mode=True)


@pytest.mark.parametrize("name", LAYERS)
def test_gradgradcheck_packed_with_initial_state(name):
    layer = _layer(name, bidirectional=True)
    x = torch.randn(L, N, H_IN, dtype=F64, requires_grad=True)
    h0 = torch.randn(2, N, H, dtype=F64, requires_grad=True)
    lengths = [L, 2, 1]

    def f(x, h0):
        packed = pack_padded_sequence(x, lengths)
        hx = (h0, torch.tanh(h0)) if name == "LSTM" else h0
        output, state = layer(packed, hx)
        return output.data, state[0] if name == "LSTM" else state

    assert gradgradcheck(f, (x, h0), fast_mode=True)


@pytest.mark.parametrize("name", LAYERS)
def test_gradient_penalty_matches_the_plain_loop(name):
    """d/dθ ||dL/dθ||² (a gradient penalty) is the same fused and plain."""
    x = torch.randn(L, N, H_IN, dtype=F64)
    grads = {}
    for fused in (True, False):
        layer = _layer(name, num_layers=2)
        layer.fused = fused
        params = list(layer.parameters())
        loss = layer(x)[0].pow(2).sum()
        first = torch.autograd.grad(loss, params, create_graph=True)
        penalty = sum(g.pow(2).sum() for g in first)
        penalty.backward()
        grads[fused] = [p.grad for p in params]
    for fused_grad, plain_grad in zip(grads[True], grads[False], strict=True):
        assert fused_grad.abs().sum() > 0
        torch.testing.assert_close(fused_grad, plain_grad)


def test_hessian_vector_product_matches_the_plain_loop():
    x = torch.randn(L, N, H_IN, dtype=F64)
    v = torch.randn(L, N, H_IN, dtype=F64)
    products = []
    for fused in (True, False):
        layer = _layer("LSTM")
        layer.fused = fused
        f = lambda x, layer=layer: layer(x)[0].sin().sum()  # noqa: E731
        products.append(torch.autograd.functional.hvp(f, x, v)[1])
    torch.testing.assert_close(products[0], products[1])


def test_first_order_backward_stays_hand_written(monkeypatch):
    """Without create_graph the recompute path is not taken (it would cost a second forward)."""
    calls = []
    recompute = _functional._backward_by_recompute
    monkeypatch.setattr(_functional, "_backward_by_recompute",
                        lambda *a: calls.append(1) or recompute(*a))
    layer = _layer("GRU")
    x = torch.randn(L, N, H_IN, dtype=F64, requires_grad=True)
    layer(x)[0].sum().backward()
    assert calls == []
    torch.autograd.grad(layer(x)[0].sum(), x, create_graph=True)
    assert calls == [1]

