"""rnnlib.bidirectional: reverse_padded, and BiRNN equal to torch.nn's bidirectional layers."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnlib
from rnnlib.bidirectional import BiRNN, reverse_padded
from rnnlib.compare import tolerance

H_IN, H, L, N = 3, 4, 6, 4
LENGTHS = [3, 6, 1, 4]  # unsorted on purpose, one of length 1, one full
MODES = {  # name: (rnnlib class, torch class, extra constructor arguments)
    "rnn_tanh": (rnnlib.RNN, torch.nn.RNN, {}),
    "rnn_relu": (rnnlib.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (rnnlib.LSTM, torch.nn.LSTM, {}),
    "gru": (rnnlib.GRU, torch.nn.GRU, {}),
}


@pytest.fixture(autouse=True)
def _no_tf32(monkeypatch):
    """cuDNN may use TF32 for float32 RNNs; compare against full float32 instead."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)


# ---------------------------------------------------------------- reverse_padded


def reverse_loop(x, lengths, batch_first):
    """Independent reference: reverse each sequence's real steps with Python slicing."""
    out = x.clone()
    for n, k in enumerate(lengths):
        if batch_first:
            out[n, :k] = x[n, :k].flip(0)
        else:
            out[:k, n] = x[:k, n].flip(0)
    return out


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("trailing", [(), (3,), (2, 5)])
def test_reverse_padded_matches_loop(batch_first, trailing, device):
    shape = (N, L, *trailing) if batch_first else (L, N, *trailing)
    x = torch.randn(shape, device=device)
    got = reverse_padded(x, LENGTHS, batch_first=batch_first)
    assert got.shape == x.shape and got.device == x.device and got.dtype == x.dtype
    torch.testing.assert_close(got, reverse_loop(x, LENGTHS, batch_first), rtol=0, atol=0)


def test_reverse_padded_keeps_padding_and_is_own_inverse():
    x = torch.arange(N * L).reshape(N, L)
    y = reverse_padded(x, torch.tensor(LENGTHS), batch_first=True)
    for n, k in enumerate(LENGTHS):
        assert y[n, k:].tolist() == x[n, k:].tolist()  # padding where it was, values kept
        assert y[n, :k].tolist() == x[n, :k].tolist()[::-1]
    assert torch.equal(reverse_padded(y, LENGTHS, batch_first=True), x)


def test_reverse_padded_full_lengths_is_flip():
    x = torch.randn(L, N, 2)
    assert torch.equal(reverse_padded(x, [L] * N), torch.flip(x, dims=[0]))


def test_reverse_padded_is_not_flip_with_padding():
    """The classic bug: flipping the padded tensor puts padding first."""
    x = torch.tensor([[1.0, 2.0, 3.0, 0.0]])
    assert reverse_padded(x, [3], batch_first=True).tolist() == [[3.0, 2.0, 1.0, 0.0]]
    assert torch.flip(x, dims=[1]).tolist() == [[0.0, 3.0, 2.0, 1.0]]


def test_reverse_padded_gradient_is_reversal():
    x = torch.randn(L, N, requires_grad=True)
    w = torch.randn(L, N)
    (reverse_padded(x, LENGTHS) * w).sum().backward()
    torch.testing.assert_close(x.grad, reverse_loop(w, LENGTHS, False), rtol=0, atol=0)


@pytest.mark.parametrize(
    "x, lengths, kwargs, error, match",
    [
        ([[1, 2]], [1], {}, TypeError, "torch.Tensor"),
        (torch.zeros(5), [1], {}, ValueError, "at least 2 dimensions"),
        (torch.zeros(5, 2), [1, 2, 3], {}, ValueError, r"one length per sequence, shape \(2,\)"),
        (torch.zeros(5, 2), [[1, 2]], {}, TypeError, "integer lengths"),
        (torch.zeros(5, 2), torch.tensor([[1, 2]]), {}, ValueError, "one length per sequence"),
        (torch.zeros(5, 2), [0, 2], {}, ValueError, r"lengths in \[1, 5\]"),
        (torch.zeros(5, 2), [6, 2], {}, ValueError, r"lengths in \[1, 5\]"),
        (torch.zeros(2, 5), [3] * 5, {}, ValueError, r"lengths in \[1, 2\]"),  # layout matters
        (torch.zeros(5, 2), [1.0, 2.0], {}, TypeError, "integer lengths"),
        (torch.zeros(5, 2), torch.tensor([1.0, 2.0]), {}, TypeError, "integer lengths"),
        (torch.zeros(5, 2), torch.tensor([True, True]), {}, TypeError, "bool"),
        (torch.zeros(5, 2), 3, {}, TypeError, "1-D integer tensor"),
        (torch.zeros(5, 2), [1, 2], {"batch_first": 1}, TypeError, "batch_first"),
    ],
)
def test_reverse_padded_bad_inputs(x, lengths, kwargs, error, match):
    with pytest.raises(error, match=match):
        reverse_padded(x, lengths, **kwargs)


# ---------------------------------------------------------------- BiRNN vs torch.nn


def make(mode, dtype, device, batch_first, seed=0, bias=True):
    """A torch.nn bidirectional layer, and BiRNNs built from its weights (rnnlib and torch)."""
    ours_cls, torch_cls, extra = MODES[mode]
    torch.manual_seed(seed)
    theirs = torch_cls(H_IN, H, **extra, bias=bias, batch_first=batch_first, bidirectional=True,
                       dtype=dtype, device=device)
    bi = BiRNN.from_bidirectional(theirs)
    return theirs, bi


def as_tuple(states):
    return states if isinstance(states, tuple) else (states,)


def run(layer, x, lengths, h0, batch_first, bi):
    """Forward and backward through a weighted loss; returns everything to compare."""
    x = x.clone().requires_grad_()
    h0 = None if h0 is None else tuple(h.clone().requires_grad_() for h in h0)
    hx = None if h0 is None else (h0 if len(h0) == 2 else h0[0])
    if bi:
        output, states = layer(x, lengths, hx)
    elif lengths is None:
        output, states = layer(x, hx)
    else:  # torch's own variable-length path: a packed sequence
        packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first,
                                      enforce_sorted=False)
        output, states = layer(packed, hx)
        total = x.shape[1 if batch_first else 0]
        output, _ = pad_packed_sequence(output, batch_first=batch_first, total_length=total)
    states = as_tuple(states)
    gen = torch.Generator().manual_seed(1)
    weights = [torch.randn(t.shape, generator=gen, dtype=t.dtype).to(t.device)
               for t in (output, *states)]
    loss = sum((w * t).sum() for w, t in zip(weights, (output, *states), strict=True))
    loss.backward()
    grads = [x.grad] + ([] if h0 is None else [h.grad for h in h0])
    return [output, *states, *grads]


def param_grads_bi(bi):
    """The BiRNN's gradients in the order of a torch bidirectional layer's parameters."""
    f = [p.grad for p in bi.forward_layer.parameters()]
    b = [p.grad for p in bi.backward_layer.parameters()]
    return f + b


def param_grads_torch(layer):
    names = [n for n, _ in layer.named_parameters()]
    fwd = [n for n in names if not n.endswith("_reverse")]
    return [getattr(layer, n).grad for n in fwd] + [getattr(layer, n + "_reverse").grad
                                                    for n in fwd]


CASES = [  # (batch_first, variable lengths, given h0, bias)
    (False, False, False, True),
    (True, False, True, True),
    (False, True, True, True),
    (True, True, False, False),
    (True, True, True, True),
]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("mode", list(MODES))
def test_birnn_equals_torch_bidirectional(mode, case, dtype, device):
    batch_first, variable, given_h0, bias = case
    theirs, bi = make(mode, dtype, device, batch_first, bias=bias)
    gen = torch.Generator().manual_seed(2)
    shape = (N, L, H_IN) if batch_first else (L, N, H_IN)
    x = torch.randn(shape, generator=gen, dtype=dtype).to(device)
    lengths = LENGTHS if variable else None
    h0 = None
    if given_h0:
        h0 = tuple(torch.randn(2, N, H, generator=gen, dtype=dtype).to(device)
                   for _ in range(2 if mode == "lstm" else 1))
    ours = run(bi, x, lengths, h0, batch_first, bi=True)
    ref = run(theirs, x, lengths, h0, batch_first, bi=False)
    tol = tolerance(device, dtype)
    for a, b in zip(ours, ref, strict=True):
        torch.testing.assert_close(a, b, **tol)
    for a, b in zip(param_grads_bi(bi), param_grads_torch(theirs), strict=True):
        torch.testing.assert_close(a, b, **tol)
    if variable:  # zeros at padded steps, like pad_packed_sequence
        out = ours[0] if batch_first else ours[0].transpose(0, 1)
        for n, k in enumerate(LENGTHS):
            assert (out[n, k:] == 0).all()


@pytest.mark.parametrize("mode", ["gru", "lstm"])
def test_birnn_equals_rnnlib_bidirectional(mode):
    """from_bidirectional also reads rnnlib's bidirectional layers."""
    ours_cls, _, _ = MODES[mode]
    torch.manual_seed(3)
    layer = ours_cls(H_IN, H, bidirectional=True, batch_first=True, dtype=torch.float64)
    bi = BiRNN.from_bidirectional(layer)
    x = torch.randn(N, L, H_IN, dtype=torch.float64)
    packed = pack_padded_sequence(x, torch.tensor(LENGTHS), batch_first=True,
                                  enforce_sorted=False)
    ref_out, ref_h = layer(packed)
    ref_out, _ = pad_packed_sequence(ref_out, batch_first=True, total_length=L)
    out, h = bi(x, LENGTHS)
    tol = tolerance("cpu", torch.float64)
    torch.testing.assert_close(out, ref_out, **tol)
    for a, b in zip(as_tuple(h), as_tuple(ref_h), strict=True):
        torch.testing.assert_close(a, b, **tol)


def test_birnn_by_hand_and_final_states():
    """Output halves and h_n from the definition: forward on x[:k], backward on x[:k] reversed."""
    torch.manual_seed(4)
    fw = torch.nn.GRU(H_IN, H, dtype=torch.float64)
    bw = torch.nn.GRU(H_IN, H, dtype=torch.float64)
    bi = BiRNN(fw, bw)
    x = torch.randn(L, N, H_IN, dtype=torch.float64)
    out, h_n = bi(x, LENGTHS)
    for n, k in enumerate(LENGTHS):
        seq = x[:k, n : n + 1]  # (k, 1, H_in): the real steps only
        of, hf = fw(seq)
        ob, hb = bw(seq.flip(0))
        torch.testing.assert_close(out[:k, n, :H], of[:, 0])
        torch.testing.assert_close(out[:k, n, H:], ob.flip(0)[:, 0])
        torch.testing.assert_close(h_n[0, n], hf[0, 0])
        torch.testing.assert_close(h_n[1, n], hb[0, 0])
        torch.testing.assert_close(h_n[1, n], out[0, n, H:])  # backward state after step 1


def test_flip_instead_of_reverse_padded_is_wrong():
    """Reversing the padded tensor lets padding reach the backward state at real steps."""
    torch.manual_seed(5)
    bi = BiRNN(rnnlib.GRU(H_IN, H), rnnlib.GRU(H_IN, H))
    x = torch.randn(L, N, H_IN)
    x[3:, 0] = 0.0  # sequence 0 has length 3
    out, _ = bi(x, LENGTHS)
    flipped, _ = bi.backward_layer(torch.flip(x, dims=[0]))
    wrong = torch.flip(flipped, dims=[0])[:3, 0]
    assert (wrong - out[:3, 0, H:]).abs().max() > 1e-3


def test_unbatched_and_equal_lengths():
    torch.manual_seed(6)
    theirs = torch.nn.LSTM(H_IN, H, bidirectional=True, dtype=torch.float64)
    bi = BiRNN.from_bidirectional(theirs)
    x = torch.randn(L, H_IN, dtype=torch.float64)
    h0 = (torch.randn(2, H, dtype=torch.float64), torch.randn(2, H, dtype=torch.float64))
    out, (h, c) = bi(x, hx=h0)
    ref_out, (ref_h, ref_c) = theirs(x, h0)
    assert out.shape == (L, 2 * H) and h.shape == (2, H)
    for a, b in ((out, ref_out), (h, ref_h), (c, ref_c)):
        torch.testing.assert_close(a, b)
    xb = x.unsqueeze(1)
    torch.testing.assert_close(bi(xb, [L])[0], bi(xb)[0])  # full lengths = no lengths


def test_attributes_and_readouts():
    bi = BiRNN(rnnlib.GRU(H_IN, H, batch_first=True), rnnlib.GRU(H_IN, H, batch_first=True))
    assert (bi.input_size, bi.hidden_size, bi.output_size) == (H_IN, H, 2 * H)
    assert bi.batch_first and bi.bidirectional and bi.mode == "GRU" and bi.num_layers == 1
    model = rnnlib.models.EveryStep(bi, out_features=2)
    assert model(torch.zeros(N, L, H_IN)).shape == (N, L, 2)
    assert "mode=GRU" in repr(bi)


def test_from_bidirectional_copies():
    theirs = torch.nn.GRU(H_IN, H, bidirectional=True)
    bi = BiRNN.from_bidirectional(theirs)
    assert isinstance(bi.forward_layer, rnnlib.GRU) and isinstance(bi.backward_layer, rnnlib.GRU)
    torch.testing.assert_close(bi.backward_layer.weight_hh_l0, theirs.weight_hh_l0_reverse)
    with torch.no_grad():
        theirs.weight_hh_l0.zero_()
    assert bi.forward_layer.weight_hh_l0.abs().sum() > 0  # a copy, not a view
    relu = BiRNN.from_bidirectional(torch.nn.RNN(H_IN, H, nonlinearity="relu",
                                                 bidirectional=True, bias=False))
    assert relu.mode == "RNN_RELU" and not relu.forward_layer.bias


@pytest.mark.parametrize(
    "fw, bw, error, match",
    [
        (torch.nn.Linear(3, 4), rnnlib.GRU(3, 4), TypeError, "recurrent layer"),
        (rnnlib.GRU(3, 4, num_layers=2), rnnlib.GRU(3, 4), ValueError, "num_layers=1"),
        (rnnlib.GRU(3, 4, bidirectional=True), rnnlib.GRU(3, 4), ValueError, "bidirectional"),
        (rnnlib.GRU(3, 4), rnnlib.LSTM(3, 4), ValueError, "equal mode"),
        (rnnlib.GRU(3, 4), rnnlib.GRU(2, 4), ValueError, "equal input_size"),
        (rnnlib.GRU(3, 4), rnnlib.GRU(3, 5), ValueError, "equal hidden_size"),
        (rnnlib.GRU(3, 4), rnnlib.GRU(3, 4, batch_first=True), ValueError, "equal batch_first"),
        (rnnlib.RNN(3, 4), rnnlib.RNN(3, 4, nonlinearity="relu"), ValueError, "equal mode"),
        (rnnlib.GRU(3, 4), rnnlib.GRU(3, 4, dtype=torch.float64), ValueError, "dtype"),
        (torch.nn.LSTM(3, 4, proj_size=2), torch.nn.LSTM(3, 4), ValueError, "proj_size"),
    ],
)
def test_birnn_bad_layers(fw, bw, error, match):
    with pytest.raises(error, match=match):
        BiRNN(fw, bw)


def test_birnn_same_layer_twice():
    g = rnnlib.GRU(3, 4)
    with pytest.raises(ValueError, match="two distinct layers"):
        BiRNN(g, g)


def test_birnn_bad_inputs():
    bi = BiRNN(rnnlib.GRU(H_IN, H), rnnlib.GRU(H_IN, H))
    lstm = BiRNN(rnnlib.LSTM(H_IN, H), rnnlib.LSTM(H_IN, H))
    x = torch.zeros(L, N, H_IN)
    with pytest.raises(TypeError, match="PackedSequence"):
        bi(pack_padded_sequence(x, [L] * N))
    with pytest.raises(ValueError, match=f"{H_IN} features"):
        bi(torch.zeros(L, N, H_IN + 1))
    with pytest.raises(ValueError, match="3 dimensions"):
        bi(torch.zeros(L))
    with pytest.raises(TypeError, match="dtype"):
        bi(x.double())
    with pytest.raises(ValueError, match=r"lengths in \[1, 6\]"):
        bi(x, [7, 1, 1, 1])
    with pytest.raises(ValueError, match=r"one length per sequence, shape \(4,\)"):
        bi(x, [1, 1])
    with pytest.raises(TypeError, match="integer lengths"):
        bi(x, torch.ones(N))
    with pytest.raises(ValueError, match="lengths need a batched input"):
        bi(torch.zeros(L, H_IN), [L])
    with pytest.raises(ValueError, match=r"hx of shape \(2, 4, 4\)"):
        bi(x, hx=torch.zeros(1, N, H))
    with pytest.raises(TypeError, match=r"tuple \(h_0, c_0\)"):
        lstm(x, hx=torch.zeros(2, N, H))
    with pytest.raises(ValueError, match=r"c_0 of shape \(2, 4, 4\)"):
        lstm(x, hx=(torch.zeros(2, N, H), torch.zeros(2, N, H + 1)))


def test_from_bidirectional_bad_layers():
    with pytest.raises(TypeError, match="bidirectional recurrent layer"):
        BiRNN.from_bidirectional(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="bidirectional=True"):
        BiRNN.from_bidirectional(torch.nn.GRU(2, 2))
    with pytest.raises(ValueError, match="num_layers=1"):
        BiRNN.from_bidirectional(torch.nn.GRU(2, 2, num_layers=2, bidirectional=True))
    with pytest.raises(ValueError, match="proj_size"):
        BiRNN.from_bidirectional(torch.nn.LSTM(3, 4, proj_size=2, bidirectional=True))
