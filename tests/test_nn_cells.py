"""rnnlib.nn.cells: RNNCell, LSTMCell and GRUCell equal torch.nn's cells."""

from __future__ import annotations

import pytest
import torch

import rnnlib
from rnnlib.compare import tolerance
from rnnlib.nn.cells import gru_update, lstm_update

H_IN, H, N = 3, 4, 5
CELLS = {  # name: (rnnlib class, torch class, extra arguments, number of states)
    "rnn_tanh": (rnnlib.RNNCell, torch.nn.RNNCell, {}, 1),
    "rnn_relu": (rnnlib.RNNCell, torch.nn.RNNCell, {"nonlinearity": "relu"}, 1),
    "lstm": (rnnlib.LSTMCell, torch.nn.LSTMCell, {}, 2),
    "gru": (rnnlib.GRUCell, torch.nn.GRUCell, {}, 1),
}


def run(cell, x, hx):
    """One step forward and backward through a weighted loss; everything to compare."""
    x = x.clone().requires_grad_()
    hx = None if hx is None else tuple(h.clone().requires_grad_() for h in hx)
    out = cell(x, None if hx is None else (hx if len(hx) == 2 else hx[0]))
    out = out if isinstance(out, tuple) else (out,)
    gen = torch.Generator().manual_seed(1)
    loss = sum((torch.randn(o.shape, generator=gen, dtype=o.dtype).to(o.device) * o).sum()
               for o in out)
    loss.backward()
    return [*out, x.grad, *([] if hx is None else [h.grad for h in hx]),
            *[p.grad for p in cell.parameters()]]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("given_hx", [True, False], ids=["hx", "no-hx"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("name", list(CELLS))
def test_cell_outputs_and_gradients_equal_torch(name, bias, given_hx, batched, dtype, device):
    ours_cls, torch_cls, extra, num_states = CELLS[name]
    ours = ours_cls(H_IN, H, bias=bias, **extra, dtype=dtype, device=device)
    theirs = torch_cls(H_IN, H, bias=bias, **extra, dtype=dtype, device=device)
    theirs.load_state_dict(ours.state_dict())
    gen = torch.Generator().manual_seed(0)
    lead = (N,) if batched else ()
    x = torch.randn(*lead, H_IN, generator=gen, dtype=dtype).to(device)
    hx = None
    if given_hx:
        hx = tuple(torch.randn(*lead, H, generator=gen, dtype=dtype).to(device)
                   for _ in range(num_states))
    for a, b in zip(run(ours, x, hx), run(theirs, x, hx), strict=True):
        torch.testing.assert_close(a, b, **tolerance(device, dtype))


@pytest.mark.parametrize("name", list(CELLS))
def test_cell_state_dict_and_seeded_init_equal_torch(name):
    ours_cls, torch_cls, extra, _ = CELLS[name]
    torch.manual_seed(4)
    ours = ours_cls(H_IN, H, **extra)
    torch.manual_seed(4)
    theirs = torch_cls(H_IN, H, **extra)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for a, b in zip(ours.state_dict().values(), theirs.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    bound = 1 / H**0.5
    assert all(p.abs().max() <= bound for p in ours.parameters())
    ours_cls(H_IN, H, **extra).load_state_dict(theirs.state_dict())  # torch -> rnnlib
    torch_cls(H_IN, H, **extra).load_state_dict(ours.state_dict())  # rnnlib -> torch


def test_lstm_update_follows_the_gate_equations():
    gen = torch.Generator().manual_seed(0)
    gi, gh = torch.randn(2, 4 * H, generator=gen), torch.randn(2, 4 * H, generator=gen)
    c = torch.randn(2, H, generator=gen)
    i, f, g, o = (gi + gh).chunk(4, dim=1)
    c_want = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h, c_new = lstm_update(gi, gh, c)
    torch.testing.assert_close(c_new, c_want)
    torch.testing.assert_close(h, torch.sigmoid(o) * torch.tanh(c_want))


def test_gru_update_keeps_the_state_when_the_update_gate_is_one():
    h = torch.randn(2, H)
    gi = torch.zeros(2, 3 * H)
    gi[:, H : 2 * H] = 100.0  # z = σ(100) = 1: h' = h
    torch.testing.assert_close(gru_update(gi, torch.zeros(2, 3 * H), h), h)


def test_a_cell_loop_equals_the_layer():
    torch.manual_seed(0)
    layer, cell = rnnlib.GRU(H_IN, H), rnnlib.GRUCell(H_IN, H)
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})  # drop "_l0"
    x, h = torch.randn(6, N, H_IN), torch.zeros(N, H)
    outs = []
    for x_t in x:
        h = cell(x_t, h)
        outs.append(h)
    output, h_n = layer(x)
    torch.testing.assert_close(output, torch.stack(outs))
    torch.testing.assert_close(h_n[0], h)


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("name", list(CELLS))
def test_cell_of_hidden_size_zero_returns_empty_states_like_torch(name, batched):
    ours_cls, torch_cls, extra, num_states = CELLS[name]
    ours, theirs = ours_cls(H_IN, 0, **extra), torch_cls(H_IN, 0, **extra)
    lead = (N,) if batched else ()
    x = torch.randn(*lead, H_IN)
    empty = tuple(torch.zeros(*lead, 0) for _ in range(num_states))
    hx = empty if num_states == 2 else empty[0]
    for given in (None, hx):
        out, want = ours(x, given), theirs(x, given)
        out, want = (out, want) if num_states == 2 else ((out,), (want,))
        assert [o.shape for o in out] == [w.shape for w in want] == [(*lead, 0)] * num_states
    x = x.clone().requires_grad_()
    out = ours(x)
    (out[0] if num_states == 2 else out).sum().backward()  # an empty state passes no gradient
    assert torch.equal(x.grad, torch.zeros_like(x))


@pytest.mark.parametrize("name", list(CELLS))
def test_cell_hidden_size_must_not_be_negative(name):
    ours_cls, _, extra, _ = CELLS[name]
    with pytest.raises(ValueError, match="hidden_size must be zero or more, got -1"):
        ours_cls(H_IN, -1, **extra)
    with pytest.raises(ValueError, match="input_size must be greater than zero, got 0"):
        ours_cls(0, H, **extra)
