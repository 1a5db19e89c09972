"""torch.nn.utils' reparametrisations (weight_norm, prune, parametrize) act on rnnlib's layers.

They rely on ``_flat_weights`` and ``_flat_weights_names``, which torch's recurrent layers keep
in step with their parameters, and on the forward reading each weight by name, so that it sees
the reparametrised value. Each test reparametrises an rnnlib layer and its torch.nn twin the
same way and checks that the output changes as the reparametrisation says, equals torch's, and
comes back when the reparametrisation is removed.
"""

from __future__ import annotations

import copy
import io

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize, prune

import rnnlib

H_IN, H, L, N = 3, 4, 5, 2
MODES = {  # name: (rnnlib class, torch class, extra constructor arguments)
    "rnn": (rnnlib.RNN, nn.RNN, {}),
    "lstm": (rnnlib.LSTM, nn.LSTM, {}),
    "lstm_proj": (rnnlib.LSTM, nn.LSTM, {"proj_size": 2}),
    "gru": (rnnlib.GRU, nn.GRU, {}),
}
DTYPE = torch.float64
# torch.nn.LSTM warns that oneDNN has no projections and uses its own loop: expected here.
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")


def make_pair(mode, **kwargs):
    """An rnnlib layer and its torch.nn twin carrying the same weights, in float64."""
    ours_cls, torch_cls, extra = MODES[mode]
    torch.manual_seed(0)
    ours = ours_cls(H_IN, H, **extra, **kwargs, dtype=DTYPE)
    theirs = torch_cls(H_IN, H, **extra, **kwargs, dtype=DTYPE)
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def inputs():
    return torch.randn(L, N, H_IN, dtype=DTYPE, generator=torch.Generator().manual_seed(1))


def output(layer):
    out, _ = layer(inputs())
    return out


def count_parameters(layer):
    """How many of the flat weights are still Parameters (not reparametrised tensors)."""
    return sum(isinstance(w, nn.Parameter) for w in layer._flat_weights)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize(("num_layers", "bidirectional", "bias"),
                         [(1, False, True), (2, True, False)])
def test_flat_weights_are_the_parameters_in_torchs_order(mode, num_layers, bidirectional, bias):
    ours, theirs = make_pair(mode, num_layers=num_layers, bidirectional=bidirectional, bias=bias)
    assert ours._flat_weights_names == theirs._flat_weights_names
    assert [n for n, _ in ours.named_parameters()] == ours._flat_weights_names
    assert all(w is p for w, p in zip(ours._flat_weights, ours.parameters(), strict=True))


def test_flat_weights_follow_assignment_conversion_copy_and_pickling():
    layer = rnnlib.LSTM(H_IN, H, num_layers=2)
    new = nn.Parameter(torch.zeros(4 * H, H))
    layer.weight_hh_l1 = new  # as torch: assigning a weight updates the flat list
    assert layer._flat_weights[layer._flat_weights_names.index("weight_hh_l1")] is new
    layer.double()
    assert all(w.dtype == torch.float64 for w in layer._flat_weights)
    for twin in (copy.deepcopy(layer), torch.load(_saved(layer), weights_only=False)):
        assert all(w is p for w, p in zip(twin._flat_weights, twin.parameters(), strict=True))
        assert not any(w is p for w, p in zip(twin._flat_weights, layer.parameters(),
                                              strict=True))
        torch.testing.assert_close(output(twin), output(layer))


def test_a_layer_pickled_without_flat_weights_gets_them_when_unpickled():
    layer = rnnlib.GRU(H_IN, H, bidirectional=True)
    state = layer.__dict__.copy()  # what pickle stores, less the two attributes
    del state["_flat_weights"], state["_flat_weights_names"]
    twin = rnnlib.GRU.__new__(rnnlib.GRU)
    twin.__setstate__(state)
    assert twin._flat_weights_names == [n for n, _ in layer.named_parameters()]
    assert all(w is p for w, p in zip(twin._flat_weights, layer.parameters(), strict=True))


def _saved(module):
    buffer = io.BytesIO()
    torch.save(module, buffer)
    buffer.seek(0)
    return buffer


@pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated")
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "plain"])
@pytest.mark.parametrize("mode", list(MODES))
def test_weight_norm_scales_the_weight_like_torch(mode, fused):
    ours, theirs = make_pair(mode)
    ours.fused = fused
    before = output(ours)
    total = len(ours._flat_weights)
    for layer in (ours, theirs):
        nn.utils.weight_norm(layer, name="weight_hh_l0")  # W = g v / ||v||, row by row
        assert count_parameters(layer) == total - 1  # W is now computed, not a Parameter
    torch.testing.assert_close(output(ours), before)  # W = g v / ||v|| is the old W
    with torch.no_grad():
        for layer in (ours, theirs):
            layer.weight_hh_l0_g.mul_(2)  # twice the norm of every row: W doubles
    doubled, _ = make_pair(mode)
    with torch.no_grad():
        doubled.weight_hh_l0.mul_(2)
    got = output(ours)
    torch.testing.assert_close(got, output(doubled))
    torch.testing.assert_close(got, output(theirs))
    got.sum().backward()
    output(theirs).sum().backward()
    for name in ("weight_hh_l0_g", "weight_hh_l0_v"):
        torch.testing.assert_close(getattr(ours, name).grad, getattr(theirs, name).grad)
    nn.utils.remove_weight_norm(ours, name="weight_hh_l0")  # W stays doubled, a Parameter again
    assert count_parameters(ours) == total
    assert ours._parameters == ours.__dict__["_parameters"]
    torch.testing.assert_close(output(ours), got)


@pytest.mark.parametrize("mode", list(MODES))
def test_parametrizations_weight_norm_trains_g_and_v_like_torch(mode):
    ours, theirs = make_pair(mode, num_layers=2, bidirectional=True)
    before = output(ours)
    for layer in (ours, theirs):
        nn.utils.parametrizations.weight_norm(layer, name="weight_ih_l1_reverse")
    torch.testing.assert_close(output(ours), before)
    with torch.no_grad():
        for layer in (ours, theirs):
            layer.parametrizations.weight_ih_l1_reverse.original0.mul_(0.5)  # g: W halves
    got = output(ours)
    assert not torch.allclose(got, before)
    torch.testing.assert_close(got, output(theirs))
    got.sum().backward()
    output(theirs).sum().backward()
    for i in range(2):  # g and v
        ours_p = getattr(ours.parametrizations.weight_ih_l1_reverse, f"original{i}")
        their_p = getattr(theirs.parametrizations.weight_ih_l1_reverse, f"original{i}")
        torch.testing.assert_close(ours_p.grad, their_p.grad)
    parametrize.remove_parametrizations(ours, "weight_ih_l1_reverse")  # keeps W = g v/||v||
    torch.testing.assert_close(output(ours), got)
    assert count_parameters(ours) == len(ours._flat_weights)  # from this forward on, as torch


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "plain"])
@pytest.mark.parametrize("method", ["l1", "random"])
@pytest.mark.parametrize("mode", list(MODES))
def test_pruning_zeroes_weights_like_torch_and_remove_makes_it_permanent(mode, method, fused):
    ours, theirs = make_pair(mode)
    ours.fused = fused
    before = output(ours)
    total = len(ours._flat_weights)
    for layer in (ours, theirs):
        torch.manual_seed(2)  # the same random mask for both
        if method == "l1":
            prune.l1_unstructured(layer, name="weight_hh_l0", amount=0.5)
        else:
            prune.random_unstructured(layer, name="weight_hh_l0", amount=0.5)
        assert count_parameters(layer) == total - 1
    mask = ours.weight_hh_l0_mask
    assert mask.sum() == mask.numel() // 2
    zeroed, _ = make_pair(mode)
    with torch.no_grad():
        zeroed.weight_hh_l0.mul_(mask)
    got = output(ours)
    assert not torch.allclose(got, before)
    torch.testing.assert_close(got, output(zeroed))
    torch.testing.assert_close(got, output(theirs))
    got.sum().backward()
    grad = ours.weight_hh_l0_orig.grad
    assert torch.all(grad[mask == 0] == 0) and torch.any(grad[mask == 1] != 0)

    prune.remove(ours, "weight_hh_l0")
    assert count_parameters(ours) == total
    assert "weight_hh_l0" in dict(ours.named_parameters())
    assert "weight_hh_l0_orig" not in dict(ours.named_parameters())
    torch.testing.assert_close(output(ours), got)


class Symmetric(nn.Module):
    """``W = A + A^T``, for a square weight (the recurrent weight of an RNN)."""

    def forward(self, a):
        return a + a.T


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "plain"])
def test_register_parametrization_is_seen_by_the_forward_and_removable(fused):
    ours, theirs = make_pair("rnn", num_layers=2)
    ours.fused = fused
    before = output(ours)
    original = ours.weight_hh_l1.detach().clone()
    for layer in (ours, theirs):
        parametrize.register_parametrization(layer, "weight_hh_l1", Symmetric())
    symmetric, _ = make_pair("rnn", num_layers=2)
    with torch.no_grad():
        symmetric.weight_hh_l1.copy_(original + original.T)
    got = output(ours)
    torch.testing.assert_close(got, output(symmetric))
    torch.testing.assert_close(got, output(theirs))
    got.sum().backward()
    output(theirs).sum().backward()
    torch.testing.assert_close(ours.parametrizations.weight_hh_l1.original.grad,
                               theirs.parametrizations.weight_hh_l1.original.grad)
    parametrize.remove_parametrizations(ours, "weight_hh_l1", leave_parametrized=False)
    torch.testing.assert_close(output(ours), before)  # the unconstrained weight is back


@pytest.mark.parametrize("mode", list(MODES))
def test_functional_call_runs_the_weights_it_is_given(mode):
    ours, _ = make_pair(mode)
    other, _ = make_pair(mode)
    with torch.no_grad():
        for p in other.parameters():
            p.mul_(-1)
    swapped, _ = torch.func.functional_call(ours, dict(other.named_parameters()), (inputs(),))
    torch.testing.assert_close(swapped, output(other))
    assert not torch.allclose(swapped, output(ours))
