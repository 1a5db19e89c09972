"""torch.func transforms (vmap, grad, jacrev) and batched gradients over rnnlib's layers.

Under a transform the fused recurrence runs as the plain cell loop (its in-place steps have no
batching rules); a backward called with batched gradients recomputes through the loop. The
results must equal the ordinary autograd ones, computed one example at a time.
"""

import pytest
import torch
from torch.autograd import gradcheck
from torch.func import functional_call, grad, jacrev, vmap

import rnnlib

F64 = torch.float64
H_IN, H, L, N = 2, 3, 4, 5
LAYERS = ["RNN", "LSTM", "GRU"]


def _layer(name, **kwargs):
    torch.manual_seed(0)
    return getattr(rnnlib, name)(H_IN, H, dtype=F64, **kwargs)


# the three layers, and the LSTM with projections (proj_size), whose W_hr the fallback carries too
VARIANTS = [(name, {}) for name in LAYERS] + [("LSTM", {"proj_size": 2})]


@pytest.mark.parametrize(("name", "extra"), VARIANTS)
def test_per_example_gradients_with_vmap_of_grad(name, extra):
    """vmap(grad(loss)) over a batch equals a loop of ordinary backward passes."""
    layer = _layer(name, bidirectional=True, **extra)
    params = {k: p.detach() for k, p in layer.named_parameters()}
    xs = torch.randn(N, L, H_IN, dtype=F64)  # N unbatched sequences (L, H_IN)

    def loss(params, x):
        output, _ = functional_call(layer, params, (x,))
        return output.pow(2).sum()

    batched = vmap(grad(loss), in_dims=(None, 0))(params, xs)
    for i in range(N):
        layer.zero_grad()
        layer(xs[i])[0].pow(2).sum().backward()
        for k, p in layer.named_parameters():
            torch.testing.assert_close(batched[k][i], p.grad, msg=f"{k}, example {i}")


@pytest.mark.parametrize("name", LAYERS)
def test_vmap_of_the_forward_equals_the_batched_layer(name):
    layer = _layer(name, num_layers=2)
    xs = torch.randn(N, L, H_IN, dtype=F64)
    output, _ = vmap(layer)(xs)  # N unbatched runs, (N, L, H)
    torch.testing.assert_close(output, layer(xs.transpose(0, 1))[0].transpose(0, 1))


def test_jacrev_equals_autograd_jacobian():
    layer = _layer("GRU")
    x = torch.randn(L, H_IN, dtype=F64)
    expected = torch.autograd.functional.jacobian(lambda x: layer(x)[0], x)
    torch.testing.assert_close(jacrev(lambda x: layer(x)[0])(x), expected)


@pytest.mark.parametrize(("name", "extra"), VARIANTS)
def test_gradcheck_with_batched_grad(name, extra):
    """gradcheck's batched-gradient check vmaps the fused layer's backward."""
    layer = _layer(name, bidirectional=True, **extra)
    x = torch.randn(L, 2, H_IN, dtype=F64, requires_grad=True)
    assert layer.fused
    assert gradcheck(lambda x, *p: layer(x)[0], (x, *layer.parameters()),
                     check_batched_grad=True)

