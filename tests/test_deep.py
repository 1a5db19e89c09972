"""rnnlib.deep: stacks of single layers equal to torch.nn's num_layers=k layers, and the budget."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnlib
from rnnlib.bidirectional import BiRNN
from rnnlib.compare import tolerance
from rnnlib.deep import DeepRNN, count_parameters, hidden_size_for_budget
from rnnlib.models import EveryStep, LastStep

H_IN, H, L, N = 3, 4, 6, 4
LENGTHS = [3, 6, 1, 4]  # unsorted, one of length 1, one full
MODES = {  # name: (rnnlib class, torch class, extra constructor arguments)
    "rnn_tanh": (rnnlib.RNN, torch.nn.RNN, {}),
    "rnn_relu": (rnnlib.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (rnnlib.LSTM, torch.nn.LSTM, {}),
    "gru": (rnnlib.GRU, torch.nn.GRU, {}),
}
F64 = tolerance("cpu", torch.float64)


@pytest.fixture(autouse=True)
def _no_tf32(monkeypatch):
    """cuDNN may use TF32 for float32 RNNs; compare against full float32 instead."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)


def torch_layer(mode, num_layers=2, bidirectional=True, batch_first=False, **kw):
    _, cls, extra = MODES[mode]
    torch.manual_seed(0)
    return cls(H_IN, H, num_layers=num_layers, bidirectional=bidirectional,
               batch_first=batch_first, dtype=torch.float64, **extra, **kw)


def states_like(layer, n=N, dtype=torch.float64, device="cpu"):
    rows = layer.num_layers * (2 if layer.bidirectional else 1)
    h = torch.randn(rows, n, H, dtype=dtype, device=device)
    return (h, torch.randn_like(h)) if layer.mode == "LSTM" else h


def as_tuple(h):
    return h if isinstance(h, tuple) else (h,)


def grads_by_torch_name(deep):
    """The stack's parameter gradients under the names torch gives them (weight_ih_l1_reverse)."""
    out = {}
    for k, layer in enumerate(deep.layers):
        halves = [("", layer.forward_layer), ("_reverse", layer.backward_layer)] if isinstance(
            layer, BiRNN) else [("", layer)]
        for suffix, half in halves:
            for name, p in half.named_parameters():
                out[name.replace("_l0", f"_l{k}") + suffix] = p.grad
    return out


# ---------------------------------------------------------------- equal to torch.nn


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_from_layer_equals_torch_outputs_states_and_gradients(
    mode, num_layers, bidirectional, batch_first
):
    given_hx = batch_first  # both layouts, each with and without a given hx
    ref = torch_layer(mode, num_layers, bidirectional, batch_first)
    deep = DeepRNN.from_layer(ref)
    assert len(deep.layers) == num_layers
    assert all(isinstance(m, BiRNN) for m in deep.layers) == bidirectional
    shape = (N, L, H_IN) if batch_first else (L, N, H_IN)
    x1 = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    hx = states_like(ref) if given_hx else None
    out_ref, h_ref = ref(x1, hx)
    out, h = deep(x2, hx=hx)
    torch.testing.assert_close(out, out_ref, **F64)
    for a, b in zip(as_tuple(h), as_tuple(h_ref), strict=True):
        assert a.shape == (num_layers * (2 if bidirectional else 1), N, H)
        torch.testing.assert_close(a, b, **F64)
    w = torch.randn_like(out_ref)
    loss_ref = (out_ref * w).sum() + sum(s.pow(2).sum() for s in as_tuple(h_ref))
    loss = (out * w).sum() + sum(s.pow(2).sum() for s in as_tuple(h))
    loss_ref.backward()
    loss.backward()
    torch.testing.assert_close(x2.grad, x1.grad, **F64)
    ours = grads_by_torch_name(deep)
    assert set(ours) == {name for name, _ in ref.named_parameters()}
    for name, p in ref.named_parameters():
        torch.testing.assert_close(ours[name], p.grad, **F64, msg=name)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("batch_first", [False, True])
def test_variable_lengths_equal_torch_on_the_packed_batch(mode, batch_first):
    ref = torch_layer(mode, num_layers=3, batch_first=batch_first)
    deep = DeepRNN.from_layer(ref)
    shape = (N, L, H_IN) if batch_first else (L, N, H_IN)
    x = torch.randn(shape, dtype=torch.float64)
    packed = pack_padded_sequence(x, torch.tensor(LENGTHS), batch_first=batch_first,
                                  enforce_sorted=False)
    out_ref, h_ref = ref(packed)
    out_ref, _ = pad_packed_sequence(out_ref, batch_first=batch_first, total_length=L)
    out, h = deep(x, lengths=LENGTHS)
    torch.testing.assert_close(out, out_ref, **F64)  # padded steps: zeros in both
    for a, b in zip(as_tuple(h), as_tuple(h_ref), strict=True):
        torch.testing.assert_close(a, b, **F64)
    g_ref = torch.autograd.grad(out_ref.pow(2).sum(), list(ref.parameters()))
    g = torch.autograd.grad(out.pow(2).sum(), list(ref.parameters()), allow_unused=True)
    assert all(v is None for v in g), "the stack's weights are copies, not shared"
    out.pow(2).sum().backward()
    ours = grads_by_torch_name(deep)
    for (name, _), expected in zip(ref.named_parameters(), g_ref, strict=True):
        torch.testing.assert_close(ours[name], expected, **F64, msg=name)


def test_padding_values_do_not_matter():
    deep = DeepRNN.from_layer(torch_layer("gru", num_layers=2, batch_first=True))
    x = torch.randn(N, L, H_IN, dtype=torch.float64)
    noisy = x.clone()
    for n, k in enumerate(LENGTHS):
        noisy[n, k:] = 100.0
    a, b = deep(x, lengths=LENGTHS), deep(noisy, lengths=LENGTHS)
    torch.testing.assert_close(a[0], b[0], rtol=0, atol=0)
    torch.testing.assert_close(a[1], b[1], rtol=0, atol=0)


def test_single_layers_without_lengths_are_read_packed():
    """A torch.nn one-direction layer in the stack is packed, so h_n is at each own length."""
    torch.manual_seed(0)
    first = torch.nn.GRU(H_IN, H, dtype=torch.float64)
    second = BiRNN.from_bidirectional(torch.nn.GRU(H, H, bidirectional=True,
                                                   dtype=torch.float64))
    deep = DeepRNN([first, second])
    x = torch.randn(L, N, H_IN, dtype=torch.float64)
    out, h_n = deep(x, lengths=LENGTHS)
    assert out.shape == (L, N, 2 * H) and h_n.shape == (3, N, H)
    for n, k in enumerate(LENGTHS):  # each sequence alone, without padding
        solo_out, solo_h = deep(x[:k, n : n + 1])
        torch.testing.assert_close(out[:k, n : n + 1], solo_out, **F64)
        torch.testing.assert_close(h_n[:, n : n + 1], solo_h, **F64)
        assert (out[k:, n] == 0).all()


@pytest.mark.parametrize("mode", ["gru", "lstm"])
def test_float32_on_every_device(mode, device):
    ref = torch_layer(mode, num_layers=2, batch_first=True).float().to(device)
    deep = DeepRNN.from_layer(ref)
    assert next(deep.parameters()).device.type == device.type
    x = torch.randn(N, L, H_IN, device=device)
    tol = tolerance(device, torch.float32)
    out_ref, h_ref = ref(x)
    out, h = deep(x)
    torch.testing.assert_close(out, out_ref, **tol)
    for a, b in zip(as_tuple(h), as_tuple(h_ref), strict=True):
        torch.testing.assert_close(a, b, **tol)


def test_unbatched_equals_a_batch_of_one():
    ref = torch_layer("lstm", num_layers=2)
    deep = DeepRNN.from_layer(ref)
    x = torch.randn(L, H_IN, dtype=torch.float64)
    hx = tuple(s[:, 0] for s in states_like(ref, n=1))
    out, (h, c) = deep(x, hx=hx)
    out_b, (h_b, c_b) = deep(x[:, None], hx=tuple(s[:, None] for s in hx))
    assert out.shape == (L, 2 * H) and h.shape == (4, H)
    torch.testing.assert_close(out, out_b[:, 0], rtol=0, atol=0)
    torch.testing.assert_close(h, h_b[:, 0], rtol=0, atol=0)
    torch.testing.assert_close(c, c_b[:, 0], rtol=0, atol=0)
    out_ref, _ = ref(x, hx)
    torch.testing.assert_close(out, out_ref, **F64)


# ---------------------------------------------------------------- residual and dropout


def test_residual_adds_each_layers_input_from_the_second_layer_on():
    ref = torch_layer("gru", num_layers=3, batch_first=True)
    plain, res = DeepRNN.from_layer(ref), DeepRNN.from_layer(ref, residual=True)
    x = torch.randn(N, L, H_IN, dtype=torch.float64)
    y1, _ = plain.layers[0](x)  # by hand: X1 = l1(x), X2 = l2(X1) + X1, X3 = l3(X2) + X2
    y2 = plain.layers[1](y1)[0] + y1
    y3 = plain.layers[2](y2)[0] + y2
    outs = res.layer_outputs(x)
    for got, expected in zip(outs, [y1, y2, y3], strict=True):
        torch.testing.assert_close(got, expected, **F64)
    torch.testing.assert_close(res(x)[0], y3, **F64)
    torch.testing.assert_close(plain.layer_outputs(x)[-1], plain(x)[0], rtol=0, atol=0)


def test_layer_outputs_carry_the_gradient_to_each_layer():
    deep = DeepRNN.from_layer(torch_layer("gru", num_layers=3))
    x = torch.randn(L, N, H_IN, dtype=torch.float64)
    outs = deep.layer_outputs(x)
    grads = torch.autograd.grad(outs[-1].sum(), outs)
    torch.testing.assert_close(grads[-1], torch.ones_like(outs[-1]), rtol=0, atol=0)
    # the gradient at layer 2's output, through layer 3 alone, by autograd on layer 3
    x2 = outs[1].detach().requires_grad_()
    (expected,) = torch.autograd.grad(deep.layers[2](x2)[0].sum(), x2)
    torch.testing.assert_close(grads[1], expected, **F64)


def test_dropout_acts_between_layers_in_training_only():
    p = 0.5
    ref = torch_layer("gru", num_layers=3, dropout=p)
    deep = DeepRNN.from_layer(ref)
    assert deep.dropout == p
    x = torch.randn(L, N, H_IN, dtype=torch.float64)
    deep.eval()
    ref.eval()
    torch.testing.assert_close(deep(x)[0], ref(x)[0], **F64)  # eval: no dropout, as torch

    seen = {}
    for i, layer in enumerate(deep.layers):
        layer.register_forward_hook(lambda m, a, out, i=i: seen.__setitem__(i, (a[0], out[0])))
    deep.train()
    torch.manual_seed(1)
    out, _ = deep(x)
    assert torch.equal(seen[0][0], x), "no dropout on the input of the first layer"
    torch.testing.assert_close(out, seen[2][1], rtol=0, atol=0)  # nor on the last output
    for i in (1, 2):  # input of layer i = dropout(output of layer i - 1)
        given, below = seen[i][0], seen[i - 1][1]
        kept = given != 0
        assert 0.3 < kept.double().mean() < 0.7
        torch.testing.assert_close(given[kept], below[kept] / (1 - p), **F64)


def test_residual_sum_uses_the_dropped_input():
    deep = DeepRNN.from_layer(torch_layer("gru", num_layers=2), dropout=0.5, residual=True)
    seen = {}
    deep.layers[1].register_forward_hook(lambda m, a, out: seen.update(x=a[0], y=out[0]))
    x = torch.randn(L, N, H_IN, dtype=torch.float64)
    out = deep.train()(x)[0]
    torch.testing.assert_close(out, seen["y"] + seen["x"], rtol=0, atol=0)


# ---------------------------------------------------------------- works with the read-outs


def test_every_step_and_last_step_read_a_deep_rnn():
    ref = torch_layer("gru", num_layers=2, batch_first=True)
    deep = DeepRNN.from_layer(ref)
    assert (deep.hidden_size, deep.bidirectional, deep.num_layers) == (H, True, 2)
    x = torch.randn(N, L, H_IN, dtype=torch.float64)
    ours, theirs = EveryStep(deep, 2).double(), EveryStep(ref, 2).double()
    theirs.head.load_state_dict(ours.head.state_dict())
    torch.testing.assert_close(ours(x), theirs(x), **F64)
    ours, theirs = LastStep(deep, 1).double(), LastStep(ref, 1).double()
    theirs.head.load_state_dict(ours.head.state_dict())
    torch.testing.assert_close(ours(x), theirs(x), **F64)


# ---------------------------------------------------------------- the parameter budget


@pytest.mark.parametrize("mode", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("num_layers", [1, 2, 4])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_count_parameters_counts_torch_layers(mode, num_layers, bidirectional, bias):
    layer = getattr(torch.nn, mode)(5, 7, num_layers=num_layers, bidirectional=bidirectional,
                                    bias=bias)
    expected = sum(p.numel() for p in layer.parameters())
    assert count_parameters(mode, 5, 7, num_layers, bidirectional=bidirectional,
                            bias=bias) == expected


@pytest.mark.parametrize("budget", [500, 5_000, 20_000, 123_456])
@pytest.mark.parametrize("num_layers", [1, 3])
def test_hidden_size_for_budget_is_the_largest_that_fits(budget, num_layers):
    def size(h):
        layer = torch.nn.GRU(16, h, num_layers=num_layers, bidirectional=True)
        head = torch.nn.Linear(2 * h, 2)
        return sum(p.numel() for m in (layer, head) for p in m.parameters())

    h = hidden_size_for_budget(budget, "GRU", 16, num_layers, bidirectional=True,
                               out_features=2)
    assert size(h) <= budget < size(h + 1)


# ---------------------------------------------------------------- bad inputs


def test_bad_stacks_are_refused():
    gru = rnnlib.GRU(H_IN, H, bidirectional=True)
    with pytest.raises(TypeError, match="sequence of recurrent layers"):
        DeepRNN(gru)
    with pytest.raises(ValueError, match="at least one layer"):
        DeepRNN([])
    with pytest.raises(TypeError, match=r"layers\[1\] to be a module"):
        DeepRNN([gru, "gru"])
    with pytest.raises(TypeError, match="recurrent interface"):
        DeepRNN([torch.nn.Linear(3, 4)])
    with pytest.raises(ValueError, match=r"layers\[1\].input_size == 8"):
        DeepRNN([gru, rnnlib.GRU(H, H, bidirectional=True)])
    with pytest.raises(ValueError, match="one hidden_size"):
        DeepRNN([gru, rnnlib.GRU(2 * H, H + 1)])
    with pytest.raises(ValueError, match="one batch_first"):
        DeepRNN([gru, rnnlib.GRU(2 * H, H, batch_first=True)])
    with pytest.raises(ValueError, match="all layers LSTMs or none"):
        DeepRNN([gru, rnnlib.LSTM(2 * H, H, bidirectional=True)])
    with pytest.raises(ValueError, match="maps 8 features to 4"):
        DeepRNN([gru, rnnlib.GRU(2 * H, H)], residual=True)
    with pytest.raises(ValueError, match="probability"):
        DeepRNN([gru, rnnlib.GRU(2 * H, H)], dropout=1.5)
    with pytest.raises(TypeError, match="residual should be of type bool"):
        DeepRNN([gru], residual=1)
    with pytest.raises(ValueError, match="projection"):
        DeepRNN([torch.nn.LSTM(H_IN, H, proj_size=2)])
    with pytest.warns(UserWarning, match="num_layers > 1"):
        DeepRNN([gru], dropout=0.5)


def test_from_layer_refuses_what_is_not_a_recurrent_layer():
    with pytest.raises(TypeError, match="recurrent layer"):
        DeepRNN.from_layer(torch.nn.Linear(3, 4))
    with pytest.raises(ValueError, match="projection"):
        DeepRNN.from_layer(torch.nn.LSTM(3, 4, proj_size=2))


def test_bad_inputs_get_clear_errors():
    deep = DeepRNN.from_layer(torch_layer("lstm", num_layers=2))
    x = torch.randn(L, N, H_IN, dtype=torch.float64)
    with pytest.raises(ValueError, match="features in the last dimension"):
        deep(torch.randn(L, N, H_IN + 1, dtype=torch.float64))
    with pytest.raises(ValueError, match="3 dimensions"):
        deep(torch.randn(2, L, N, H_IN, dtype=torch.float64))
    with pytest.raises(TypeError, match="dtype"):
        deep(x.float())
    with pytest.raises(TypeError, match="PackedSequence"):
        deep(pack_padded_sequence(x, LENGTHS, enforce_sorted=False))
    with pytest.raises(TypeError, match=r"tuple \(h_0, c_0\)"):
        deep(x, hx=torch.zeros(4, N, H, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"h_0 of shape \(4, 4, 4\)"):
        deep(x, hx=(torch.zeros(2, N, H, dtype=torch.float64),) * 2)
    with pytest.raises(ValueError, match="one length per sequence"):
        deep(x, lengths=[3, 4])
    with pytest.raises(ValueError, match=r"lengths in \[1, 6\]"):
        deep(x, lengths=[3, 7, 1, 2])
    with pytest.raises(TypeError, match="integer lengths"):
        deep(x, lengths=torch.ones(N, dtype=torch.bool))
    with pytest.raises(TypeError, match="integer lengths"):
        deep(x, lengths=torch.full((N,), 2.0))
    with pytest.raises(TypeError, match="pass the initial state as hx"):
        deep(x, (torch.zeros(4, N, H, dtype=torch.float64),) * 2)
    with pytest.raises(ValueError, match="lengths need a batched input"):
        deep(x[:, 0], lengths=[L])


def test_bad_budgets_are_refused():
    with pytest.raises(ValueError, match="expected mode"):
        count_parameters("TRANSFORMER", 3, 4)
    with pytest.raises(ValueError, match="at least 120 parameters"):
        hidden_size_for_budget(10, "GRU", 16, 1, bidirectional=True, out_features=2)
    with pytest.raises(ValueError, match="out_features"):
        hidden_size_for_budget(1000, "GRU", 16, out_features=-1)
    with pytest.raises(TypeError, match="budget should be of type int"):
        hidden_size_for_budget(1000.0, "GRU", 16)
