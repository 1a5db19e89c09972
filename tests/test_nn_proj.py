"""rnnlib.LSTM with projections (``proj_size``) gives torch.nn.LSTM's numbers, fused or plain."""

from __future__ import annotations

import re

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import rnnlib
from rnnlib.compare import tolerance

H_IN, H, P, L, N = 3, 5, 2, 4, 3
# torch.nn.LSTM warns that oneDNN has no projections and uses its own loop: expected here.
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")
LENGTHS = [2, 4, 3]  # unsorted on purpose
# (num_layers, bidirectional, batch_first, bias, input kind, given (h_0, c_0))
CASES = [
    (1, False, False, True, "batched", False),
    (1, True, True, True, "batched", True),
    (2, False, True, False, "batched", True),
    (3, True, False, True, "batched", False),
    (2, True, False, True, "unbatched", True),
    (1, False, False, False, "unbatched", False),
    (1, False, False, True, "packed", True),
    (2, True, True, True, "packed", False),
    (2, True, False, False, "packed_sorted", True),
]


def make_pair(dtype=torch.float64, seed=0, **kwargs):
    """An rnnlib LSTM with projections and its torch.nn twin carrying the same weights."""
    torch.manual_seed(seed)
    ours = rnnlib.LSTM(H_IN, H, proj_size=P, **kwargs, dtype=dtype)
    theirs = torch.nn.LSTM(H_IN, H, proj_size=P, **kwargs, dtype=dtype)
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def run(layer, x, hx, kind, batch_first):
    """Forward and backward through a weighted loss; returns everything to compare."""
    x = x.clone().requires_grad_()
    hx = None if hx is None else tuple(h.clone().requires_grad_() for h in hx)
    inp = x
    if kind.startswith("packed"):
        lengths = sorted(LENGTHS, reverse=True) if kind == "packed_sorted" else LENGTHS
        inp = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first,
                                   enforce_sorted=kind == "packed_sorted")
    output, (h_n, c_n) = layer(inp, hx)
    if kind.startswith("packed"):
        assert isinstance(output, PackedSequence)
        output, _ = pad_packed_sequence(output, batch_first=batch_first)
    gen = torch.Generator().manual_seed(1)
    loss = sum((torch.randn(t.shape, generator=gen, dtype=t.dtype) * t).sum()
               for t in (output, h_n, c_n))
    loss.backward()
    grads = [x.grad] + ([] if hx is None else [h.grad for h in hx])
    return [output, h_n, c_n, *grads, *[p.grad for p in layer.parameters()]]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "plain"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
def test_projected_lstm_equals_torch(case, fused, dtype):
    num_layers, bidirectional, batch_first, bias, kind, given_hx = case
    ours, theirs = make_pair(dtype, num_layers=num_layers, bidirectional=bidirectional,
                             batch_first=batch_first, bias=bias)
    ours.fused = fused
    d = 2 if bidirectional else 1
    gen = torch.Generator().manual_seed(2)
    batched = kind != "unbatched"
    x_shape = ((N, L) if batch_first else (L, N)) if batched else (L,)
    x = torch.randn(*x_shape, H_IN, generator=gen, dtype=dtype)
    hx = None
    if given_hx:
        lead = (d * num_layers, N) if batched else (d * num_layers,)
        hx = (torch.randn(*lead, P, generator=gen, dtype=dtype),
              torch.randn(*lead, H, generator=gen, dtype=dtype))
    got, want = run(ours, x, hx, kind, batch_first), run(theirs, x, hx, kind, batch_first)
    assert got[0].shape[-1] == d * P and got[1].shape[-1] == P and got[2].shape[-1] == H
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, **tolerance("cpu", dtype))


def test_parameters_names_shapes_and_seeded_init_equal_torch():
    torch.manual_seed(3)
    ours = rnnlib.LSTM(H_IN, H, num_layers=2, bidirectional=True, proj_size=P)
    torch.manual_seed(3)
    theirs = torch.nn.LSTM(H_IN, H, num_layers=2, bidirectional=True, proj_size=P)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == [
        (n, p.shape) for n, p in theirs.named_parameters()
    ]
    assert ours.weight_hr_l1_reverse.shape == (P, H)
    assert ours.weight_hh_l0.shape == (4 * H, P) and ours.weight_ih_l1.shape == (4 * H, 2 * P)
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(a, b)
    assert repr(ours) == repr(theirs)
    assert ours._flat_weights_names == theirs._flat_weights_names
    rnnlib.LSTM(H_IN, H, num_layers=2, bidirectional=True, proj_size=P).load_state_dict(
        theirs.state_dict())


def test_projected_layer_equals_the_gate_equations_written_out():
    lstm = rnnlib.LSTM(H_IN, H, proj_size=P, dtype=torch.float64)
    x = torch.randn(L, N, H_IN, dtype=torch.float64)
    h, c = torch.zeros(N, P, dtype=torch.float64), torch.zeros(N, H, dtype=torch.float64)
    outputs = []
    for t in range(L):
        gates_x = x[t] @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + lstm.bias_hh_l0  # (N, 4H)
        gates_h = h @ lstm.weight_hh_l0.T  # W_hh multiplies the projected h: (4H, P) weights
        i, f, g, o = (gates_x + gates_h).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = (torch.sigmoid(o) * torch.tanh(c)) @ lstm.weight_hr_l0.T  # h_t = W_hr m_t
        outputs.append(h)
    output, (h_n, c_n) = lstm(x)
    torch.testing.assert_close(output, torch.stack(outputs))
    torch.testing.assert_close(h_n[0], h)
    torch.testing.assert_close(c_n[0], c)


def test_fused_backward_passes_gradcheck_with_projections():
    lstm = rnnlib.LSTM(H_IN, H, proj_size=P, dtype=torch.float64)
    names = [n for n, _ in lstm.named_parameters()]
    x = torch.randn(L, 2, H_IN, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(1, 2, P, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(1, 2, H, dtype=torch.float64, requires_grad=True)

    def f(x, h0, c0, *params):
        out, (h_n, c_n) = torch.func.functional_call(
            lstm, dict(zip(names, params, strict=True)), (x, (h0, c0)))
        return out, h_n, c_n

    params = [p.detach().clone().requires_grad_() for p in lstm.parameters()]
    assert torch.autograd.gradcheck(f, (x, h0, c0, *params), fast_mode=True)


def test_hx_shapes_are_checked_with_h_of_proj_size_and_c_of_hidden_size():
    lstm = rnnlib.LSTM(H_IN, H, proj_size=P)
    x = torch.zeros(L, N, H_IN)
    with pytest.raises(ValueError, match=re.escape(f"h_0 of shape {(1, N, P)}, got {(1, N, H)}")):
        lstm(x, (torch.zeros(1, N, H), torch.zeros(1, N, H)))
    with pytest.raises(ValueError, match=re.escape(f"c_0 of shape {(1, N, H)}, got {(1, N, P)}")):
        lstm(x, (torch.zeros(1, N, P), torch.zeros(1, N, P)))
    output, (h_n, c_n) = lstm(x, (torch.zeros(1, N, P), torch.zeros(1, N, H)))
    assert output.shape == (L, N, P) and h_n.shape == (1, N, P) and c_n.shape == (1, N, H)


@pytest.mark.parametrize(
    ("proj_size", "exc", "message"),
    [
        (H, ValueError, f"smaller than hidden_size ({H}), got {H}"),
        (-1, ValueError, "got -1"),
        (2.0, TypeError, "proj_size should be of type int, got: float"),
        (True, TypeError, "proj_size should be of type int, got: bool"),
    ],
)
def test_proj_size_must_be_an_int_in_zero_to_hidden_size(proj_size, exc, message):
    with pytest.raises(exc, match=re.escape(message)):
        rnnlib.LSTM(H_IN, H, proj_size=proj_size)
    with pytest.raises((ValueError, TypeError)):  # torch refuses each of them too
        torch.nn.LSTM(H_IN, H, proj_size=proj_size)


@pytest.mark.parametrize("cls", [rnnlib.RNN, rnnlib.GRU])
@pytest.mark.parametrize("proj_size", [0, P])
def test_rnn_and_gru_refuse_proj_size_with_torchs_value_error(cls, proj_size):
    torch_cls = getattr(torch.nn, cls.__name__)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM") as got:
        cls(H_IN, H, proj_size=proj_size)
    assert f"proj_size={proj_size} for {cls.__name__}" in str(got.value)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        torch_cls(H_IN, H, proj_size=proj_size)
