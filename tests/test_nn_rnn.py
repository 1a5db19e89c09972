"""rnnlib.nn.rnn: RNN, LSTM and GRU give torch.nn's outputs, states and gradients exactly."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import rnnlib
from rnnlib.compare import tolerance

H_IN, H, L, N = 3, 4, 5, 3
LENGTHS = [2, 5, 3]  # unsorted on purpose
MODES = {  # name: (rnnlib class, torch class, extra constructor arguments)
    "rnn_tanh": (rnnlib.RNN, torch.nn.RNN, {}),
    "rnn_relu": (rnnlib.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (rnnlib.LSTM, torch.nn.LSTM, {}),
    "gru": (rnnlib.GRU, torch.nn.GRU, {}),
}
# (num_layers, bidirectional, batch_first, bias, input kind, given h0): every value of every
# option appears with every other at least once, without the full cross product.
CASES = [
    (1, False, False, True, "batched", False),
    (1, True, True, True, "batched", True),
    (2, False, True, False, "batched", True),
    (3, False, True, True, "batched", False),
    (2, True, False, True, "unbatched", True),
    (3, True, False, False, "unbatched", False),
    (1, False, True, True, "unbatched", False),
    (1, False, False, True, "packed", True),
    (2, True, True, True, "packed", False),
    (2, False, False, False, "packed", True),
    (3, True, False, True, "packed_sorted", True),
]


@pytest.fixture(autouse=True)
def _no_tf32(monkeypatch):
    """cuDNN may use TF32 for float32 RNNs; compare against full float32 instead."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)


def make_pair(mode, dtype, device, seed=0, **kwargs):
    """An rnnlib layer and its torch.nn twin carrying the same weights."""
    ours_cls, torch_cls, extra = MODES[mode]
    torch.manual_seed(seed)
    ours = ours_cls(H_IN, H, **extra, **kwargs, dtype=dtype, device=device)
    theirs = torch_cls(H_IN, H, **extra, **kwargs, dtype=dtype, device=device)
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def as_tuple(states):
    return states if isinstance(states, tuple) else (states,)


def run(layer, x, h0, kind, batch_first):
    """Forward and backward through a weighted loss; returns everything to compare."""
    x = x.clone().requires_grad_()
    h0 = None if h0 is None else tuple(h.clone().requires_grad_() for h in h0)
    hx = None if h0 is None else (h0 if len(h0) == 2 else h0[0])
    inp = x
    if kind.startswith("packed"):
        lengths = sorted(LENGTHS, reverse=True) if kind == "packed_sorted" else LENGTHS
        inp = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first,
                                   enforce_sorted=kind == "packed_sorted")
    output, states = layer(inp, hx)
    if kind.startswith("packed"):
        assert isinstance(output, PackedSequence)
        output, _ = pad_packed_sequence(output, batch_first=batch_first)
    states = as_tuple(states)
    gen = torch.Generator().manual_seed(1)
    weights = [torch.randn(t.shape, generator=gen, dtype=t.dtype).to(t.device)
               for t in (output, *states)]
    loss = sum((w * t).sum() for w, t in zip(weights, (output, *states), strict=True))
    loss.backward()
    grads = [x.grad] + ([] if h0 is None else [h.grad for h in h0])
    return [output, *states, *grads, *[p.grad for p in layer.parameters()]]


def inputs(mode, kind, batch_first, num_layers, bidirectional, given_h0, dtype, device):
    gen = torch.Generator().manual_seed(2)
    shape = (L, H_IN) if kind == "unbatched" else ((N, L, H_IN) if batch_first else (L, N, H_IN))
    x = torch.randn(shape, generator=gen, dtype=dtype).to(device)
    h0 = None
    if given_h0:
        d = num_layers * (2 if bidirectional else 1)
        state_shape = (d, H) if kind == "unbatched" else (d, N, H)
        h0 = tuple(torch.randn(state_shape, generator=gen, dtype=dtype).to(device)
                   for _ in range(2 if mode == "lstm" else 1))
    return x, h0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
@pytest.mark.parametrize("mode", list(MODES))
def test_outputs_states_and_gradients_equal_torch(mode, case, dtype, device):
    num_layers, bidirectional, batch_first, bias, kind, given_h0 = case
    ours, theirs = make_pair(mode, dtype, device, num_layers=num_layers,
                             bidirectional=bidirectional, batch_first=batch_first, bias=bias)
    x, h0 = inputs(mode, kind, batch_first, num_layers, bidirectional, given_h0, dtype, device)
    got, want = run(ours, x, h0, kind, batch_first), run(theirs, x, h0, kind, batch_first)
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, **tolerance(device, dtype))


@settings(max_examples=25, deadline=None)
@given(
    mode=st.sampled_from(list(MODES)),
    num_layers=st.integers(1, 3),
    bidirectional=st.booleans(),
    batch_first=st.booleans(),
    bias=st.booleans(),
    kind=st.sampled_from(["batched", "unbatched", "packed", "packed_sorted"]),
    given_h0=st.booleans(),
)
def test_random_configurations_equal_torch_in_float64(
    mode, num_layers, bidirectional, batch_first, bias, kind, given_h0
):
    device = torch.device("cpu")
    ours, theirs = make_pair(mode, torch.float64, device, num_layers=num_layers,
                             bidirectional=bidirectional, batch_first=batch_first, bias=bias)
    x, h0 = inputs(mode, kind, batch_first, num_layers, bidirectional, given_h0,
                   torch.float64, device)
    got, want = run(ours, x, h0, kind, batch_first), run(theirs, x, h0, kind, batch_first)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, **tolerance(device, torch.float64))


@pytest.mark.parametrize("mode", list(MODES))
def test_state_dict_names_shapes_and_seeded_init_equal_torch(mode):
    ours_cls, torch_cls, extra = MODES[mode]
    kwargs = {"num_layers": 2, "bidirectional": True, **extra}
    torch.manual_seed(3)
    ours = ours_cls(H_IN, H, **kwargs)
    torch.manual_seed(3)
    theirs = torch_cls(H_IN, H, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())  # names and their order
    for (name, a), b in zip(ours.state_dict().items(), theirs.state_dict().values(), strict=True):
        assert torch.equal(a, b), name  # same shapes and, with the same seed, same values
    assert "weight_hh_l1_reverse" in ours.state_dict()


@pytest.mark.parametrize("mode", list(MODES))
def test_load_state_dict_works_both_ways(mode, device):
    ours_cls, torch_cls, extra = MODES[mode]
    ours = ours_cls(H_IN, H, num_layers=2, bidirectional=True, **extra, device=device)
    theirs = torch_cls(H_IN, H, num_layers=2, bidirectional=True, **extra, device=device)
    ours.load_state_dict(theirs.state_dict())  # torch -> rnnlib
    x = torch.randn(L, N, H_IN, device=device)
    torch.testing.assert_close(ours(x)[0], theirs(x)[0], **tolerance(device))
    fresh = torch_cls(H_IN, H, num_layers=2, bidirectional=True, **extra, device=device)
    fresh.load_state_dict(ours.state_dict())  # rnnlib -> torch
    torch.testing.assert_close(fresh(x)[0], ours(x)[0], **tolerance(device))


def test_bias_false_has_no_bias_parameters():
    layer = rnnlib.LSTM(H_IN, H, bias=False, num_layers=2)
    assert list(layer.state_dict()) == ["weight_ih_l0", "weight_hh_l0", "weight_ih_l1",
                                        "weight_hh_l1"]


def test_factory_kwargs_set_dtype_and_repr_matches_torch():
    layer = rnnlib.GRU(H_IN, H, num_layers=2, batch_first=True, dtype=torch.float64)
    assert all(p.dtype == torch.float64 for p in layer.parameters())
    twin = torch.nn.GRU(H_IN, H, num_layers=2, batch_first=True)
    assert repr(layer) == repr(twin)
    # torch's repr leaves out a ReLU nonlinearity; rnnlib's shows it
    assert repr(rnnlib.RNN(2, 3, nonlinearity="relu")) == "RNN(2, 3, nonlinearity=relu)"


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_positional_arguments_mean_what_they_mean_in_torch(mode):
    ours_cls, torch_cls, _ = MODES[mode]
    ours, theirs = ours_cls(H_IN, H, 2, False, True), torch_cls(H_IN, H, 2, False, True)
    assert (ours.num_layers, ours.bias, ours.batch_first) == (2, False, True)
    assert (theirs.num_layers, theirs.bias, theirs.batch_first) == (2, False, True)
    rnn = rnnlib.RNN(H_IN, H, 1, "relu")
    assert rnn.nonlinearity == "relu"


def test_dropout_acts_between_layers_in_training_only():
    torch.manual_seed(0)
    layer = rnnlib.LSTM(H_IN, H, num_layers=2, dropout=1.0)  # p = 1: layer 2 sees zeros
    x = torch.randn(L, N, H_IN)
    top = rnnlib.LSTM(H, H)
    top.load_state_dict({k.replace("l1", "l0"): v for k, v in layer.state_dict().items()
                         if k.endswith("l1")})
    torch.testing.assert_close(layer.train()(x)[0], top(torch.zeros(L, N, H))[0])
    eval_out = layer.eval()(x)[0]
    assert not torch.allclose(eval_out, top(torch.zeros(L, N, H))[0])


def test_dropout_with_one_layer_warns_like_torch():
    with pytest.warns(UserWarning, match="num_layers"):
        rnnlib.GRU(H_IN, H, dropout=0.5)


def test_flatten_parameters_and_all_weights_exist_for_drop_in_code():
    layer = rnnlib.RNN(H_IN, H, num_layers=2)
    layer.flatten_parameters()
    twin = torch.nn.RNN(H_IN, H, num_layers=2)
    assert [[p.shape for p in ps] for ps in layer.all_weights] == [
        [p.shape for p in ps] for ps in twin.all_weights
    ]


@pytest.mark.parametrize("mode", list(MODES))
def test_plain_sum_losses_give_torch_gradients(mode):
    """``.sum()`` hands the backward expanded (stride-0) gradients; they must work too."""
    ours, theirs = make_pair(mode, torch.float64, "cpu", num_layers=2, bidirectional=True)
    x = torch.randn(L, N, H_IN, dtype=torch.float64)
    for layer in (ours, theirs):
        output, states = layer(x)
        (output.sum() + as_tuple(states)[-1].sum()).backward()
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, **tolerance("cpu", torch.float64))


@pytest.mark.parametrize("batch_first", [False, True], ids=["L-first", "N-first"])
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "plain"])
@pytest.mark.parametrize("mode", list(MODES))
def test_an_empty_batch_gives_empty_outputs_and_zero_gradients(mode, fused, batch_first):
    """N = 0 (torch allows it): outputs (L, 0, H), and backward runs, as in torch."""
    ours, theirs = make_pair(mode, torch.float64, "cpu", num_layers=2, bidirectional=True,
                             batch_first=batch_first)
    ours.fused = fused
    shape = (0, L, H_IN) if batch_first else (L, 0, H_IN)
    for layer in (ours, theirs):
        x = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
        output, _ = layer(x)
        assert output.shape == shape[:2] + (2 * H,)
        output.sum().backward()
        assert x.grad.shape == shape
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad)  # zeros
