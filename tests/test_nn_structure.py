"""Structural equivalences of rnnlib's layers (flax's tests), independent of torch.nn.

A layer equals a loop over its cell; the reverse direction is the forward direction on the
flipped sequence; a bidirectional layer's forward half is the unidirectional layer; rows of a
batch do not interact; padding past a sequence's end changes nothing.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlib
from rnnlib.nn import pack_padded_sequence

H_IN, H = 3, 4
LAYERS = {"rnn": (rnnlib.RNN, rnnlib.RNNCell), "lstm": (rnnlib.LSTM, rnnlib.LSTMCell),
          "gru": (rnnlib.GRU, rnnlib.GRUCell)}
F64 = {"atol": 1e-12, "rtol": 1e-12}


def layer_of(name, seed=0, **kwargs):
    torch.manual_seed(seed)
    return LAYERS[name][0](H_IN, H, dtype=torch.float64, **kwargs)


def direction(layer, suffix, cls):
    """A one-layer unidirectional copy of one direction of layer 0."""
    single = cls(H_IN, H, dtype=torch.float64)
    single.load_state_dict({k.replace(suffix, "_l0"): v for k, v in layer.state_dict().items()
                            if k.endswith(suffix)})
    return single


def last_h(states):
    return states[0] if isinstance(states, tuple) else states


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_equals_a_manual_loop_over_its_cell(name):
    layer_cls, cell_cls = LAYERS[name]
    layer = layer_of(name)
    cell = cell_cls(H_IN, H, dtype=torch.float64)
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})  # drop "_l0"
    x = torch.randn(6, 2, H_IN, dtype=torch.float64)
    state, outs = None, []
    for x_t in x:
        state = cell(x_t, state)
        outs.append(last_h(state) if isinstance(state, tuple) else state)
    output, h_n = layer(x)
    torch.testing.assert_close(output, torch.stack(outs), **F64)
    torch.testing.assert_close(last_h(h_n)[0], outs[-1], **F64)


@pytest.mark.parametrize("name", list(LAYERS))
def test_reverse_direction_equals_forward_on_the_flipped_sequence(name):
    bi = layer_of(name, bidirectional=True)
    backward = direction(bi, "_l0_reverse", LAYERS[name][0])
    x = torch.randn(5, 2, H_IN, dtype=torch.float64)
    output, h_n = bi(x)
    flipped_out, flipped_h = backward(x.flip(0))
    torch.testing.assert_close(output[..., H:], flipped_out.flip(0), **F64)
    torch.testing.assert_close(last_h(h_n)[1], last_h(flipped_h)[0], **F64)


@pytest.mark.parametrize("name", list(LAYERS))
def test_forward_half_of_bidirectional_equals_unidirectional_run(name):
    bi = layer_of(name, bidirectional=True)
    uni = direction(bi, "_l0", LAYERS[name][0])
    x = torch.randn(5, 2, H_IN, dtype=torch.float64)
    output, h_n = bi(x)
    uni_out, uni_h = uni(x)
    torch.testing.assert_close(output[..., :H], uni_out, **F64)
    torch.testing.assert_close(last_h(h_n)[0], last_h(uni_h)[0], **F64)


@pytest.mark.parametrize("name", list(LAYERS))
def test_last_layer_final_state_is_the_last_output(name):
    layer = layer_of(name, num_layers=3)
    output, h_n = layer(torch.randn(5, 2, H_IN, dtype=torch.float64))
    torch.testing.assert_close(last_h(h_n)[-1], output[-1], **F64)


@pytest.mark.parametrize("name", list(LAYERS))
def test_default_state_is_zeros(name):
    layer = layer_of(name, num_layers=2)
    x = torch.randn(4, 3, H_IN, dtype=torch.float64)
    zeros = torch.zeros(2, 3, H, dtype=torch.float64)
    hx = (zeros, zeros) if name == "lstm" else zeros
    torch.testing.assert_close(layer(x)[0], layer(x, hx)[0], **F64)


def test_plain_loop_path_gives_second_derivatives():
    layer = layer_of("lstm")
    layer.fused = False
    x = torch.randn(4, 2, H_IN, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(layer(x)[0].pow(2).sum(), x, create_graph=True)
    g.sum().backward()  # a Hessian-vector product
    assert layer.weight_hh_l0.grad is not None


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(list(LAYERS)),
    length=st.integers(1, 6),
    batch=st.integers(1, 4),
    num_layers=st.integers(1, 3),
    bidirectional=st.booleans(),
    batch_first=st.booleans(),
)
def test_output_shapes_follow_the_formula(name, length, batch, num_layers, bidirectional,
                                          batch_first):
    layer = layer_of(name, num_layers=num_layers, bidirectional=bidirectional,
                     batch_first=batch_first)
    d = 2 if bidirectional else 1
    shape = (batch, length, H_IN) if batch_first else (length, batch, H_IN)
    output, states = layer(torch.randn(shape, dtype=torch.float64))
    assert output.shape == (*shape[:2], d * H)
    for s in states if isinstance(states, tuple) else (states,):
        assert s.shape == (d * num_layers, batch, H)
    output, states = layer(torch.randn(length, H_IN, dtype=torch.float64))  # unbatched
    assert output.shape == (length, d * H) and last_h(states).shape == (d * num_layers, H)


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(list(LAYERS)),
    batch=st.integers(2, 4),
    row=st.integers(0, 3),
    bidirectional=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_row_of_a_batch_equals_its_solo_run(name, batch, row, bidirectional, seed):
    row = row % batch
    layer = layer_of(name, seed=seed, num_layers=2, bidirectional=bidirectional)
    x = torch.randn(5, batch, H_IN, dtype=torch.float64)
    output, states = layer(x)
    solo_out, solo_states = layer(x[:, row])  # unbatched
    torch.testing.assert_close(output[:, row], solo_out, **F64)
    torch.testing.assert_close(last_h(states)[:, row], last_h(solo_states), **F64)


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(list(LAYERS)),
    lengths=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    bidirectional=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_padding_past_a_sequence_end_does_not_change_its_final_state(name, lengths,
                                                                     bidirectional, seed):
    layer = layer_of(name, seed=seed, num_layers=2, bidirectional=bidirectional)
    x = torch.randn(max(lengths), len(lengths), H_IN, dtype=torch.float64)
    x_noisy = x.clone()
    for i, n in enumerate(lengths):
        x_noisy[n:, i] = 1e3  # garbage in the padding
    _, states = layer(pack_padded_sequence(x_noisy, lengths, enforce_sorted=False))
    for i, n in enumerate(lengths):
        solo_out, solo_states = layer(x[:n, i])  # the sequence alone, unpadded
        torch.testing.assert_close(last_h(states)[:, i], last_h(solo_states), **F64)
