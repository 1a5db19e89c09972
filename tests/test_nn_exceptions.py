"""rnnlib.nn raises what an ``except`` written for torch.nn catches, with its own messages.

Every case runs the same bad call on a torch.nn module and on its rnnlib twin: rnnlib's
exception must be an instance of the type torch raised, and its message must still name what
was expected and what came.
"""

import re

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import rnnlib
from rnnlib.nn._checks import DeviceError, DtypeError, ShapeError

H_IN, H, L, N = 3, 5, 4, 2
F64 = torch.float64


def _x(*shape, dtype=torch.float32):
    return torch.randn(*shape, dtype=dtype)


def _hx(layer, *shape, dtype=torch.float32):
    """A state of the given shape: a tensor, or for an LSTM the pair (h, c)."""
    h = torch.randn(*shape, dtype=dtype)
    return (h, h.clone()) if "LSTM" in layer else h


# (layer, input, hx, parts of rnnlib's message); hx None: the default zeros.
LAYER_CASES = {
    "features": (lambda m: _x(L, N, H_IN + 1), None, ["3 features", (L, N, H_IN + 1)]),
    "4-D input": (lambda m: _x(1, L, N, H_IN), None, ["3 dimensions", "4-D"]),
    "1-D input": (lambda m: _x(H_IN), None, ["3 dimensions", "1-D"]),
    "zero length": (lambda m: _x(0, N, H_IN), None, ["length of at least 1", (0, N, H_IN)]),
    "input dtype": (lambda m: _x(L, N, H_IN, dtype=F64), None, ["torch.float32", "float64"]),
    "dtype and features": (  # torch names the dtype, rnnlib the shape: both are ValueErrors
        lambda m: _x(L, N, H_IN + 1, dtype=F64), None, ["3 features"],
    ),
    "hx batch": (
        lambda m: _x(L, N, H_IN), lambda m: _hx(m, 1, N + 1, H), [(1, N, H), (1, N + 1, H)],
    ),
    "hx 3-D, unbatched input": (
        lambda m: _x(L, H_IN), lambda m: _hx(m, 1, 1, H), [(1, H), (1, 1, H)],
    ),
    "hx dtype": (lambda m: _x(L, N, H_IN), lambda m: _hx(m, 1, N, H, dtype=F64), ["float64"]),
    "packed features": (
        lambda m: pack_padded_sequence(_x(L, N, H_IN + 1), [L, L - 1]), None,
        ["sum of lengths", (2 * L - 1, H_IN + 1)],
    ),
    "packed dtype": (
        lambda m: pack_padded_sequence(_x(L, N, H_IN, dtype=F64), [L, L - 1]), None, ["float64"],
    ),
}



def _raises_what_torch_raises(theirs, ours, x, hx, parts):
    """torch's module raises RuntimeError or ValueError; ours raises that type too, and its
    message names every one of ``parts`` (what was expected and what came)."""
    with pytest.raises(Exception) as torch_error:
        theirs(x, hx)
    expected = torch_error.type
    assert expected in (RuntimeError, ValueError), f"torch raised {expected.__name__}"
    message = ".*".join(re.escape(str(p)) for p in parts)
    with pytest.raises(expected, match=message):
        ours(x, hx)

@pytest.mark.parametrize("case", LAYER_CASES)
@pytest.mark.parametrize("layer", ["RNN", "LSTM", "GRU"])
def test_layer_raises_a_type_torch_code_catches(layer, case):
    make_input, make_hx, parts = LAYER_CASES[case]
    torch.manual_seed(0)
    x, hx = make_input(layer), make_hx(layer) if make_hx else None
    theirs, ours = getattr(torch.nn, layer)(H_IN, H), getattr(rnnlib, layer)(H_IN, H)
    _raises_what_torch_raises(theirs, ours, x, hx, parts)


CELL_CASES = {
    "features": (lambda: _x(N, H_IN + 1), None, ["(N, 3)", (N, H_IN + 1)]),
    "3-D input": (lambda: _x(1, N, H_IN), None, ["(N, 3)", (1, N, H_IN)]),
    "input dtype": (lambda: _x(N, H_IN, dtype=F64), None, ["torch.float32", "float64"]),
    "hx batch": (lambda: _x(N, H_IN), lambda c: _hx(c, N + 1, H), [(N, H), (N + 1, H)]),
    "hx 1-D, batched input": (lambda: _x(N, H_IN), lambda c: _hx(c, H), [(N, H), (H,)]),
    "hx dtype": (lambda: _x(N, H_IN), lambda c: _hx(c, N, H, dtype=F64), ["float64"]),
}


@pytest.mark.parametrize("case", CELL_CASES)
@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_raises_a_type_torch_code_catches(cell, case):
    make_input, make_hx, parts = CELL_CASES[case]
    torch.manual_seed(0)
    x, hx = make_input(), make_hx(cell) if make_hx else None
    theirs, ours = getattr(torch.nn, cell)(H_IN, H), getattr(rnnlib, cell)(H_IN, H)
    _raises_what_torch_raises(theirs, ours, x, hx, parts)


def test_shape_is_checked_before_dtype():
    """A float64 input with the wrong number of features: the shape is reported."""
    with pytest.raises(ShapeError, match="3 features"):
        rnnlib.GRU(H_IN, H)(_x(L, N, H_IN + 1, dtype=F64))
    with pytest.raises(ShapeError, match=re.escape(f"got {(N, H_IN + 1)}")):
        rnnlib.GRUCell(H_IN, H)(_x(N, H_IN + 1, dtype=F64))


def test_error_classes_are_caught_by_torch_and_python_habits():
    assert issubclass(ShapeError, ValueError) and issubclass(ShapeError, RuntimeError)
    assert all(issubclass(DtypeError, t) for t in (TypeError, ValueError, RuntimeError))
    assert issubclass(DeviceError, ValueError) and issubclass(DeviceError, RuntimeError)


def test_device_mismatch_is_a_runtime_error():
    """torch.nn raises RuntimeError for input and parameters on different devices."""
    lstm = rnnlib.LSTM(H_IN, H, device="meta")
    with pytest.raises(RuntimeError, match="on device meta.*got cpu"):
        lstm(_x(L, N, H_IN))
