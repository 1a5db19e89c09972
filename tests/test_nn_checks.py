"""Bad input to rnnlib.nn raises a ValueError / TypeError naming what was expected and got."""

from __future__ import annotations

import re

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence

import rnnlib
from rnnlib.nn import pack_padded_sequence

H_IN, H, L, N = 3, 4, 5, 2


def raises(exc, *parts):
    """pytest.raises whose message must contain every one of ``parts``, in order."""
    return pytest.raises(exc, match=".*".join(re.escape(str(p)) for p in parts))


@pytest.mark.parametrize("cls", [rnnlib.RNN, rnnlib.LSTM, rnnlib.GRU])
def test_layer_rejects_input_of_the_wrong_rank(cls):
    layer = cls(H_IN, H)
    with raises(ValueError, "3 dimensions", "got 4-D shape", (1, L, N, H_IN)):
        layer(torch.zeros(1, L, N, H_IN))
    with raises(ValueError, "got 1-D shape", (H_IN,)):
        layer(torch.zeros(H_IN))


@pytest.mark.parametrize("cls", [rnnlib.RNN, rnnlib.LSTM, rnnlib.GRU])
def test_layer_rejects_the_wrong_feature_size(cls):
    with raises(ValueError, f"{H_IN} features", (L, N, 7)):
        cls(H_IN, H)(torch.zeros(L, N, 7))


def test_layer_rejects_a_non_tensor_input():
    with raises(TypeError, "torch.Tensor or a PackedSequence", "list"):
        rnnlib.GRU(H_IN, H)([[0.0] * H_IN])


def test_h0_of_the_wrong_shape_is_named_with_the_expected_shape():
    layer = rnnlib.GRU(H_IN, H, num_layers=2, batch_first=True)
    x = torch.zeros(N, L, H_IN)  # batch first: N = 2
    with raises(ValueError, "hx of shape", (2, N, H), "got", (2, L, H)):
        layer(x, torch.zeros(2, L, H))  # hx is never batch-first
    with raises(ValueError, "hx of shape", (2, H), "got", (2, 1, H)):
        layer(torch.zeros(L, H_IN), torch.zeros(2, 1, H))  # unbatched input wants 2-D hx


def test_lstm_state_must_be_a_pair_of_correctly_shaped_tensors():
    lstm = rnnlib.LSTM(H_IN, H)
    x = torch.zeros(L, N, H_IN)
    with raises(TypeError, "tuple (h_0, c_0)", "Tensor"):
        lstm(x, torch.zeros(1, N, H))
    with raises(ValueError, "c_0 of shape", (1, N, H), "got", (1, N, H + 1)):
        lstm(x, (torch.zeros(1, N, H), torch.zeros(1, N, H + 1)))


def test_dtype_mismatches_raise_type_errors_in_torch_nn_words():
    layer = rnnlib.RNN(H_IN, H)  # float32 parameters
    with raises(TypeError, "input dtype torch.float64", "does not match weight dtype torch.float32",
                "Convert input: input.to(torch.float32)", "model.to(torch.float64)"):
        layer(torch.zeros(L, N, H_IN, dtype=torch.float64))
    with raises(TypeError, "hx dtype torch.float64", "does not match input dtype torch.float32",
                "hx.to(torch.float32)"):
        layer(torch.zeros(L, N, H_IN), torch.zeros(1, N, H, dtype=torch.float64))
    with raises(TypeError, "input dtype torch.float64", "weight dtype torch.float32"):
        rnnlib.LSTMCell(H_IN, H)(torch.zeros(N, H_IN, dtype=torch.float64))


def test_a_cell_input_of_the_wrong_size_is_named_as_torch_nn_names_it():
    with raises(ValueError, "input has inconsistent input_size: got 4 expected 3",
                "expected input of shape (N, 3) or (3,), got", (N, 4)):
        rnnlib.GRUCell(H_IN, H)(torch.zeros(N, H_IN + 1))


def test_device_mismatches_raise_value_errors():
    layer = rnnlib.LSTM(H_IN, H)  # on the CPU; the meta device needs no accelerator
    with raises(ValueError, "on device cpu", "got meta"):
        layer(torch.zeros(L, N, H_IN, device="meta"))
    with raises(ValueError, "h_0 on device cpu", "got meta"):
        layer(torch.zeros(L, N, H_IN), (torch.zeros(1, N, H, device="meta"),) * 2)
    with raises(ValueError, "on device cpu", "got meta"):
        rnnlib.GRUCell(H_IN, H)(torch.zeros(N, H_IN, device="meta"))


def test_packed_sequence_with_the_wrong_feature_size():
    packed = pack_padded_sequence(torch.zeros(L, N, 7), [5, 3])
    with raises(ValueError, f"(sum of lengths, {H_IN})", "got", (8, 7)):
        rnnlib.LSTM(H_IN, H)(packed)


def test_packed_sequence_with_inconsistent_batch_sizes():
    packed = PackedSequence(torch.zeros(5, H_IN), torch.tensor([2, 2]))  # 4 rows, not 5
    with raises(ValueError, "sum to the 5 rows", "[2, 2]"):
        rnnlib.RNN(H_IN, H)(packed)


def test_lengths_out_of_range_or_of_the_wrong_count_or_type():
    x = torch.zeros(L, N, H_IN)
    with raises(ValueError, f"lengths in [1, {L}]", "max 6"):
        pack_padded_sequence(x, [6, 2])  # torch itself accepts this silently
    with raises(ValueError, f"lengths in [1, {L}]", "min 0"):
        pack_padded_sequence(x, [3, 0], enforce_sorted=False)
    with raises(ValueError, f"one length per sequence, shape ({N},)", "got (3,)"):
        pack_padded_sequence(x, [3, 2, 1])
    with raises(ValueError, f"lengths in [1, {L}]", f"max {L + 1}"):
        pack_padded_sequence(torch.zeros(N, L, H_IN), [L + 1, 2], batch_first=True)
    with raises(TypeError, "integer lengths", "float"):
        pack_padded_sequence(x, [3.0, 2.0])
    with raises(TypeError, "integer lengths", "torch.float32"):
        pack_padded_sequence(x, torch.tensor([3.0, 2.0]))


def test_cell_rejects_wrong_rank_features_and_state_shape():
    cell = rnnlib.RNNCell(H_IN, H)
    with raises(ValueError, f"(N, {H_IN}) or ({H_IN},)", "got", (1, N, H_IN)):
        cell(torch.zeros(1, N, H_IN))
    with raises(ValueError, f"(N, {H_IN})", "got", (N, 7)):
        cell(torch.zeros(N, 7))
    with raises(ValueError, "hx of shape", (N, H), "got", (N + 1, H)):
        cell(torch.zeros(N, H_IN), torch.zeros(N + 1, H))
    with raises(ValueError, "hx of shape", (H,), "got", (1, H)):
        cell(torch.zeros(H_IN), torch.zeros(1, H))
    with raises(TypeError, "tuple (h_0, c_0)", "list of length 3"):
        rnnlib.LSTMCell(H_IN, H)(torch.zeros(N, H_IN), [torch.zeros(N, H)] * 3)


@pytest.mark.parametrize(
    ("kwargs", "exc", "parts"),
    [
        ({"hidden_size": 0}, ValueError, ["hidden_size", "greater than zero", "got 0"]),
        ({"hidden_size": 2.5}, TypeError, ["hidden_size should be of type int, got", "float"]),
        ({"num_layers": 0}, ValueError, ["num_layers", "got 0"]),
        ({"dropout": 1.5}, ValueError, ["[0, 1]", "got 1.5"]),
        ({"bias": "yes"}, TypeError, ["bias should be of type bool, got", "str"]),
        ({"batch_first": 1}, TypeError, ["batch_first should be of type bool, got", "int"]),
        ({"nonlinearity": "sigmoid"}, ValueError, ["'sigmoid'", "('tanh', 'relu')"]),
    ],
)
def test_constructor_arguments_are_checked(kwargs, exc, parts):
    args = {"input_size": H_IN, "hidden_size": H, **kwargs}
    with raises(exc, *parts):
        rnnlib.RNN(**args)


def test_projections_must_be_narrower_than_the_hidden_state():
    with raises(ValueError, "proj_size", f"smaller than hidden_size ({H})", f"got {H}"):
        rnnlib.LSTM(H_IN, H, proj_size=H)
    with raises(ValueError, "'sigmoid'"):
        rnnlib.RNNCell(H_IN, H, nonlinearity="sigmoid")


@pytest.mark.parametrize("batch_first", [False, True])
def test_empty_sequences_are_refused(batch_first):
    """(An empty batch is allowed, as in torch: test_nn_rnn tests it.)"""
    layer = rnnlib.LSTM(H_IN, H, num_layers=2, bidirectional=True, batch_first=batch_first)
    empty_length = (N, 0, H_IN) if batch_first else (0, N, H_IN)
    with raises(ValueError, "sequence length of at least 1", empty_length):
        layer(torch.zeros(empty_length))


CELL_STATE_CASES = {  # (cell, hx for an input of shape (3, 10)) -> words shared with torch.nn
    "hidden size": ("GRUCell", lambda: torch.zeros(3, 21),
                    ["hidden0 has inconsistent hidden_size: got 21, expected 20", (3, 20)]),
    "batch": ("RNNCell", lambda: torch.zeros(5, 20),
              ["Input batch size 3 doesn't match hidden0 batch size 5", (3, 20), (5, 20)]),
    "rank": ("GRUCell", lambda: torch.zeros(3, 1, 1, 20),
             ["Expected hidden to be 1D or 2D, got 4D instead"]),
    "LSTM rank": ("LSTMCell", lambda: (torch.zeros(3, 1, 1, 20),) * 2,
                  ["Expected hx[0] to be 1D or 2D, got 4D instead"]),
    "LSTM c size": ("LSTMCell", lambda: (torch.zeros(3, 20), torch.zeros(3, 21)),
                    ["hidden1 has inconsistent hidden_size: got 21, expected 20"]),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", CELL_STATE_CASES)
def test_cell_state_shapes_are_checked_before_dtypes_in_torch_nn_words(case, dtype):
    """A float32 cell given float64 tensors of a wrong shape: the shape is named first, as in
    torch.nn, and with the same type (a RuntimeError there; a ValueError as well here)."""
    name, hx, parts = CELL_STATE_CASES[case]
    states = tuple(s.to(dtype) for s in hx()) if isinstance(hx(), tuple) else hx().to(dtype)
    x = torch.zeros(3, 10, dtype=dtype)
    with pytest.raises(Exception) as theirs:
        getattr(torch.nn, name)(10, 20)(x, states)
    with raises(theirs.type, *parts):
        getattr(rnnlib, name)(10, 20)(x, states)
    with raises(ValueError, *parts):
        getattr(rnnlib, name)(10, 20)(x, states)


@pytest.mark.parametrize("cls", [rnnlib.RNNCell, rnnlib.GRUCell])
def test_a_nonlinearity_passed_as_bias_is_refused_not_taken_as_true(cls):
    """torch.nn's cells take RNNCell(10, 20, "relu") as bias=True and a tanh cell, silently."""
    with raises(TypeError, "bias should be of type bool, got: str ('relu')",
                "RNN and RNNCell take as nonlinearity='relu'"):
        cls(10, 20, "relu")
