"""Validation at the public boundary of rnnlib.nn.

Every message names what was expected and what was received, so a wrong shape is found from
the error alone. Wrong values raise ``ValueError`` and wrong types ``TypeError``. Wrong shapes,
dtypes and devices of tensors raise :class:`ShapeError`, :class:`DtypeError` and
:class:`DeviceError`: each derives from the built-in types that Python's habits suggest *and*
from those ``torch.nn``'s recurrent layers raise for the same mistake, so an ``except`` written
for either catches it. Each tensor is checked in torch's order: type, shape, then dtype and
device.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence

NONLINEARITIES = ("tanh", "relu")


class ShapeError(ValueError, RuntimeError):
    """A tensor of the wrong shape (number of dimensions, features, batch, sequence length).

    ``torch.nn`` raises ``RuntimeError`` for most wrong shapes and ``ValueError`` for a wrong
    number of dimensions; this is both.
    """


class DtypeError(TypeError, ValueError, RuntimeError):
    """A tensor whose dtype is not the parameters'.

    ``torch.nn``'s layers raise ``ValueError`` for the input, ``RuntimeError`` for a state or a
    cell's input; this is both, and a ``TypeError`` as well (a dtype is part of a tensor's type).
    """


class DeviceError(ValueError, RuntimeError):
    """A tensor on another device than the parameters (``RuntimeError`` in ``torch.nn``)."""


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def check_sizes(**sizes: int) -> None:
    """Every size is an int (not a bool) greater than zero."""
    for name, value in sizes.items():
        _check_int(name, value)
        if value <= 0:
            raise ValueError(f"{name} must be greater than zero, got {value}")


def check_sizes_or_zero(**sizes: int) -> None:
    """Every size is an int (not a bool), zero or more (a cell of ``hidden_size=0``, as torch)."""
    for name, value in sizes.items():
        _check_int(name, value)
        if value < 0:
            raise ValueError(f"{name} must be zero or more, got {value}")


def _check_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} should be of type int, got: {type(value).__name__} ({value!r})")


def check_bool(**flags: bool) -> None:
    """Every flag is a bool."""
    for name, value in flags.items():
        if not isinstance(value, bool):
            hint = (f"; {value!r} is a nonlinearity, which RNN and RNNCell take as "
                    f"nonlinearity={value!r}") if value in NONLINEARITIES else ""
            raise TypeError(
                f"{name} should be of type bool, got: {type(value).__name__} ({value!r}){hint}"
            )


def check_nonlinearity(nonlinearity: str) -> None:
    """``nonlinearity`` is ``"tanh"`` or ``"relu"``."""
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(
            f"Unknown nonlinearity {nonlinearity!r}: expected one of {NONLINEARITIES}"
        )


def check_proj_size(proj_size: int, hidden_size: int) -> None:
    """``proj_size`` is an int in ``[0, hidden_size)``; 0 means no projection."""
    _check_int("proj_size", proj_size)
    if not 0 <= proj_size < hidden_size:
        raise ValueError(
            f"proj_size should be 0 (no projection) or a positive int smaller than hidden_size "
            f"({hidden_size}), got {proj_size}"
        )


def check_no_proj_size(name: str, proj_size: object) -> None:
    """RNN and GRU take no ``proj_size``: torch raises a ValueError when it is given at all."""
    if proj_size is not None:
        raise ValueError(
            f"proj_size argument is only supported for LSTM, not RNN or GRU: got "
            f"proj_size={proj_size!r} for {name}; an LSTM with projections is "
            f"LSTM(..., proj_size=P)"
        )


def check_dropout(dropout: float, num_layers: int) -> None:
    """``dropout`` is a probability; warn, like torch, when it cannot act (one layer)."""
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number):
        raise TypeError(f"dropout should be a number in [0, 1], got {type(dropout).__name__}")
    if not 0 <= dropout <= 1:
        raise ValueError(f"dropout should be a probability in [0, 1], got {dropout}")
    if dropout > 0 and num_layers == 1:
        warnings.warn(
            "dropout acts between recurrent layers only, so dropout > 0 expects num_layers > 1, "
            f"got dropout={dropout} and num_layers={num_layers}",
            stacklevel=3,
        )


def check_tensor(name: str, what: str, t: object) -> Tensor:
    """``t`` is a tensor."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: expected {what} to be a torch.Tensor, got {type(t).__name__}")
    return t


def check_like(name: str, what: str, t: Tensor, like: Tensor, like_what: str = "weight") -> Tensor:
    """``t`` has the dtype and is on the device of ``like``: the parameters (``"weight"``), or
    for a state the input (``"input"``). The dtype message says what torch.nn's says, and more."""
    if t.dtype != like.dtype:
        cure = f"Convert {what}: {what.split()[-1]}.to({like.dtype})"
        if like_what == "weight":
            cure += f", or convert model: model.to({t.dtype})"
        raise DtypeError(
            f"{name}: RNN {what} dtype {t.dtype} does not match {like_what} dtype {like.dtype} "
            f"(the dtype of the {'parameters' if like_what == 'weight' else like_what}). {cure}"
        )
    if t.device != like.device:
        raise DeviceError(
            f"{name}: expected {what} on device {like.device} (where the "
            f"{'parameters are' if like_what == 'weight' else like_what + ' is'}), "
            f"got {t.device}; move one of them with .to()"
        )
    return t


def check_cell_input(name: str, input: object, input_size: int) -> None:
    """A cell's input: ``(N, H_in)`` or ``(H_in,)``. Its dtype and device are checked after
    the state's shape (:func:`check_cell_states`), in torch's order."""
    check_tensor(name, "input", input)
    if input.dim() not in (1, 2) or input.shape[-1] != input_size:
        wrong = ""
        if input.dim() in (1, 2):  # torch.nn's words first
            wrong = f"input has inconsistent input_size: got {input.shape[-1]} expected " \
                    f"{input_size}; "
        raise ShapeError(
            f"{name}: {wrong}expected input of shape (N, {input_size}) or ({input_size},), "
            f"got {_shape(input)}"
        )


def check_cell_states(
    name: str, hx: object, num_states: int, shape: tuple, input: Tensor, weight: Tensor
) -> list[Tensor]:
    """A cell's state (``hx``, or ``(h, c)`` for an LSTM cell) of ``shape``, then the dtypes
    and devices of input and states: all shapes first, as torch checks them.

    The messages say what torch.nn's cells say (``hidden0 has inconsistent hidden_size``,
    ``Input batch size 3 doesn't match hidden0 batch size 5``, ...), then what was expected.
    """
    states, names = ([], []) if hx is None else _state_list(name, hx, num_states)
    for k, (s, n) in enumerate(zip(states, names, strict=True)):
        check_tensor(name, n, s)
        expected = f"expected {n} of shape {tuple(shape)}, got {_shape(s)}"
        if s.dim() not in (1, 2):
            label = "hidden" if num_states == 1 else f"hx[{k}]"
            raise ShapeError(f"{name}: Expected {label} to be 1D or 2D, got {s.dim()}D "
                             f"instead; {expected}")
        if s.shape[-1] != shape[-1]:
            raise ShapeError(f"{name}: hidden{k} has inconsistent hidden_size: got "
                             f"{s.shape[-1]}, expected {shape[-1]}; {expected}")
        if _shape(s) != tuple(shape):
            batch = (f"Input batch size {shape[0]} doesn't match hidden{k} batch size "
                     f"{s.shape[0]}; " if s.dim() == len(shape) == 2 else "")
            raise ShapeError(f"{name}: {batch}{expected}")
    check_like(name, "input", input, weight)
    for s, n in zip(states, names, strict=True):
        check_like(name, n, s, input, "input")
    return states


def _state_list(name: str, hx: object, num_states: int) -> tuple[list, list[str]]:
    """``hx`` as a list of ``num_states`` states, ``[hx]`` or an LSTM's ``[h, c]``, and their
    names in messages."""
    if num_states == 1:
        return [hx], ["hx"]
    if not isinstance(hx, (tuple, list)) or len(hx) != num_states:
        raise TypeError(
            f"{name}: expected hx to be a tuple (h_0, c_0) of two tensors, "
            f"got {type(hx).__name__}"
            + (f" of length {len(hx)}" if isinstance(hx, (tuple, list)) else "")
        )
    return list(hx), ["h_0", "c_0"]


def check_states(
    name: str, hx: object, num_states: int, shape: tuple, input: Tensor,
    c_shape: tuple | None = None,
) -> list[Tensor]:
    """The state ``hx`` (a tensor, or for an LSTM a tuple ``(h, c)``) of the given shape.

    ``c_shape`` is the shape of ``c`` where it differs from ``h``'s (an LSTM with projections).

    Returns:
        The states as a list of ``num_states`` tensors.
    """
    states, names = _state_list(name, hx, num_states)
    shapes = [shape, shape if c_shape is None else c_shape][:num_states]
    for s, n, want in zip(states, names, shapes, strict=True):
        check_tensor(name, n, s)
        if _shape(s) != tuple(want):
            raise ShapeError(
                f"{name}: expected {n} of shape {tuple(want)}, got {_shape(s)}"
            )
        check_like(name, n, s, input, "input")
    return states


def check_layer_input(
    name: str, input: object, input_size: int, weight: Tensor, batch_first: bool = False
) -> None:
    """A layer's tensor input: ``(L, N, H_in)``, ``(N, L, H_in)`` or unbatched ``(L, H_in)``."""
    if isinstance(input, PackedSequence):
        check_packed(name, input, input_size, weight)
        return
    if not isinstance(input, Tensor):
        raise TypeError(
            f"{name}: expected input to be a torch.Tensor or a PackedSequence, "
            f"got {type(input).__name__}"
        )
    if input.dim() not in (2, 3):
        raise ShapeError(
            f"{name}: expected input with 3 dimensions (L, N, {input_size}) or, unbatched, "
            f"2 dimensions (L, {input_size}); got {input.dim()}-D shape {_shape(input)}"
        )
    if input.shape[-1] != input_size:
        raise ShapeError(
            f"{name}: expected input with {input_size} features in the last dimension "
            f"(input_size), got shape {_shape(input)}"
        )
    if input.shape[1 if batch_first and input.dim() == 3 else 0] == 0:
        raise ShapeError(f"{name}: expected a sequence length of at least 1, got shape "
                         f"{_shape(input)}")
    check_like(name, "input", input, weight)


def check_packed(name: str, packed: PackedSequence, input_size: int, weight: Tensor) -> None:
    """A PackedSequence: data ``(sum of lengths, H_in)`` and consistent batch sizes."""
    data, batch_sizes = packed.data, packed.batch_sizes
    if data.dim() != 2 or data.shape[-1] != input_size:
        raise ShapeError(
            f"{name}: expected PackedSequence data of shape (sum of lengths, {input_size}), "
            f"got {_shape(data)}"
        )
    sizes = batch_sizes.tolist()
    if (
        not sizes
        or sizes[-1] < 1
        or any(a < b for a, b in zip(sizes, sizes[1:], strict=False))
        or sum(sizes) != data.shape[0]
    ):
        raise ShapeError(
            f"{name}: expected PackedSequence batch_sizes to be positive, non-increasing and "
            f"to sum to the {data.shape[0]} rows of its data, got {sizes}"
        )
    check_like(name, "PackedSequence data", data, weight)


def check_lengths(lengths: Tensor | Sequence[int], batch: int, length: int) -> Tensor:
    """Sequence lengths: ``batch`` integers in ``[1, length]``.

    Returns:
        The lengths as a 1-D int64 tensor on the CPU.
    """
    if isinstance(lengths, Tensor):
        if lengths.is_floating_point() or lengths.is_complex():
            raise TypeError(f"expected integer lengths, got a tensor of dtype {lengths.dtype}")
        lengths = lengths.detach().to("cpu", torch.int64)
    else:
        if not all(isinstance(n, numbers.Integral) for n in lengths):
            got = sorted({type(n).__name__ for n in lengths})
            raise TypeError(f"expected integer lengths, got elements of type {got}")
        lengths = torch.as_tensor(list(lengths), dtype=torch.int64)
    if lengths.dim() != 1 or lengths.numel() != batch:
        raise ValueError(
            f"expected one length per sequence, shape ({batch},), got {_shape(lengths)}"
        )
    low, high = int(lengths.min()), int(lengths.max())
    if low < 1 or high > length:
        raise ValueError(
            f"expected lengths in [1, {length}] (the padded length), got min {low}, max {high}"
        )
    return lengths
