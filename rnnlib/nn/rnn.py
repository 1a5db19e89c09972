"""Multi-layer, optionally bidirectional RNN, LSTM and GRU: drop-in twins of torch.nn's.

Same constructor arguments, parameter names (``weight_ih_l0``, ``bias_hh_l1_reverse``, ...),
shapes, gate order, inputs (batched, ``batch_first``, unbatched, PackedSequence) and return
values as :class:`torch.nn.RNN`, :class:`torch.nn.LSTM` and :class:`torch.nn.GRU`, so state dicts
load both ways and the numbers agree. Each layer and direction runs the recurrence of
:mod:`rnnlib.nn._functional`: one input projection for all steps, then a loop over time whose
backward is backpropagation through time written by hand. Set ``layer.fused = False`` to run
the plain cell loop with autograd instead (same numbers, slower).

As in torch, the layers keep ``_flat_weights``, the weights in the order of
``_flat_weights_names``, in step with the parameters, and read their weights by name at every
forward, so that ``torch.nn.utils``' reparametrisations (``weight_norm``, ``prune``,
``parametrize``) and ``torch.func.functional_call`` act on them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnlib.nn import _checks
from rnnlib.nn._functional import loop, recurrence

__all__ = ["RNN", "LSTM", "GRU"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class _RNNBase(nn.Module):
    """Parameters and the forward pass shared by :class:`RNN`, :class:`LSTM` and :class:`GRU`."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        _checks.check_sizes(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
        _checks.check_bool(bias=bias, batch_first=batch_first, bidirectional=bidirectional)
        _checks.check_dropout(dropout, num_layers)
        _checks.check_proj_size(proj_size, hidden_size)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        self.fused = True  # False: the plain cell loop with autograd (the tests' reference)
        factory = {"device": device, "dtype": dtype}
        gates, h_out = _GATES[mode] * hidden_size, self.output_size
        self._all_weights: list[list[str]] = []  # names per layer-direction
        self._flat_weights_names: list[str] = []  # the same names, in one list
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else h_out * self.num_directions
            for suffix in ("", "_reverse")[: self.num_directions]:
                shapes = {"weight_ih": (gates, layer_input), "weight_hh": (gates, h_out)}
                if bias:
                    shapes |= {"bias_ih": (gates,), "bias_hh": (gates,)}
                if proj_size:
                    shapes |= {"weight_hr": (proj_size, hidden_size)}  # h_t = W_hr m_t
                names = [f"{name}_l{layer}{suffix}" for name in shapes]
                for name, shape in zip(names, shapes.values(), strict=True):
                    self.register_parameter(name, nn.Parameter(torch.empty(shape, **factory)))
                self._all_weights.append(names)
                self._flat_weights_names.extend(names)
        self._init_flat_weights()
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """Features of ``h`` (``H_out``): ``proj_size`` for an LSTM with projections, else H."""
        return self.proj_size or self.hidden_size

    # torch.nn.utils (weight_norm, prune) and code written for torch.nn read ``_flat_weights``,
    # which torch's RNNBase keeps in step with the parameters; so do the five methods below.

    def _init_flat_weights(self) -> None:
        """Read every weight by name: a parametrisation computes its value on access."""
        self._flat_weights = [getattr(self, name, None) for name in self._flat_weights_names]

    def __setattr__(self, name: str, value) -> None:
        names = self.__dict__.get("_flat_weights_names", ())
        if name in names:  # ``layer.weight_hh_l0 = w``, as weight_norm and prune do
            self._flat_weights[names.index(name)] = value
        super().__setattr__(name, value)

    def _apply(self, fn, recurse=True):
        module = super()._apply(fn, recurse)  # .to(), .double(), ... may swap the tensors
        self._init_flat_weights()
        return module

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        if "_flat_weights_names" not in state:  # pickled by an rnnlib without flat weights
            self._flat_weights_names = [name for names in self._all_weights for name in names]
        self._init_flat_weights()

    def _replicate_for_data_parallel(self):
        replica = super()._replicate_for_data_parallel()
        replica._flat_weights = replica._flat_weights[:]  # its own list, as in torch
        replica._flat_weights_names = replica._flat_weights_names[:]
        return replica

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """Parameters per layer-direction, as ``torch.nn.RNNBase.all_weights``."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def reset_parameters(self) -> None:
        """Draw every parameter from U(-1/sqrt(H), 1/sqrt(H)), in torch's order."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def flatten_parameters(self) -> None:
        """Does nothing; here so that code written for torch.nn (cuDNN) runs unchanged."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    def forward(self, input: Tensor | PackedSequence, hx=None):
        """Run all layers; see the class docstrings for shapes and return values."""
        name, num_states = type(self).__name__, 2 if self.mode == "LSTM" else 1
        self._init_flat_weights()  # the weights as they are now (reparametrised, swapped in)
        weights = self._flat_weights
        _checks.check_layer_input(name, input, self.input_size, weights[0], self.batch_first)
        packed = isinstance(input, PackedSequence)
        if packed:  # already in the packed layout: rows of step t, longest sequences first
            x, batch_sizes = input.data, input.batch_sizes.tolist()  # (T, H_in)
            n, batched = batch_sizes[0], True
        else:  # a padded batch is the packed layout with N rows at every step
            batched = input.dim() == 3
            x = input if batched else input.unsqueeze(1)  # (L, N, H_in) or (N, L, H_in)
            if batched and self.batch_first:
                x = x.transpose(0, 1)  # (L, N, H_in)
            length, n = x.shape[:2]
            x, batch_sizes = x.reshape(length * n, x.shape[2]), [n] * length  # (L*N, H_in)
        num = self.num_layers * self.num_directions
        sizes = [self.output_size, self.hidden_size][:num_states]  # h: H_out, c: H
        if hx is None:
            states = [x.new_zeros(num, n, size) for size in sizes]
        else:
            shapes = [(num, n, size) if batched else (num, size) for size in sizes]
            states = _checks.check_states(name, hx, num_states, shapes[0], x, shapes[-1])
            states = [s if batched else s.unsqueeze(1) for s in states]  # (D*layers, N, H)
        if packed and input.sorted_indices is not None:  # hx follows the caller's order
            states = [s.index_select(1, input.sorted_indices) for s in states]

        x, h_n = self._run_layers(x, states, batch_sizes, weights)  # (T, D*H_out), states

        if packed:
            if input.unsorted_indices is not None:
                h_n = [h.index_select(1, input.unsorted_indices) for h in h_n]
            output = PackedSequence(x, input.batch_sizes, input.sorted_indices,
                                    input.unsorted_indices)
        else:
            output = x.view(length, n, x.shape[1])  # (L, N, D*H_out)
            if not batched:
                output, h_n = output.squeeze(1), [h.squeeze(1) for h in h_n]
            elif self.batch_first:
                output = output.transpose(0, 1)  # (N, L, D*H_out)
        return output, (tuple(h_n) if num_states == 2 else h_n[0])

    def _run_layers(
        self, x: Tensor, states: list[Tensor], batch_sizes: list[int], weights: list[Tensor]
    ) -> tuple[Tensor, list[Tensor]]:
        """Every layer and direction on packed rows ``x (T, H_in)``; states ``(D*layers, N, H)``.

        ``weights`` are the weights in the order of ``_flat_weights_names``.

        Returns:
            The last layer's output ``(T, D*H_out)`` and the final states, ``(D*layers, N, H)``
            each (``h_n``'s last dimension is H_out).
        """
        run = recurrence if self.fused else loop
        per = len(self._all_weights[0])  # weights per layer-direction
        finals: list[list[Tensor]] = [[] for _ in states]
        for layer in range(self.num_layers):
            outs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                kinds = [name.split("_l")[0] for name in self._all_weights[k]]  # weight_ih, ...
                w = dict(zip(kinds, weights[k * per : (k + 1) * per], strict=True))
                states0 = tuple(s[k] for s in states)  # (N, H_out), (N, H)
                out, *last = run(self.mode, x, states0, w["weight_ih"], w["weight_hh"],
                                 w.get("bias_ih"), w.get("bias_hh"), batch_sizes,
                                 reverse=direction == 1, w_hr=w.get("weight_hr"))  # (T, H_out)
                outs.append(out)
                for f, s in zip(finals, last, strict=True):
                    f.append(s)
            x = outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)  # (T, D*H_out)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)  # between layers only
        return x, [torch.stack(f) for f in finals]


_SHAPES = """
    Shape:
        input: ``(L, N, H_in)``, ``(N, L, H_in)`` with ``batch_first=True``, unbatched
        ``(L, H_in)``, or a PackedSequence. ``hx``: ``(D * num_layers, N, H)``, never batch-first
        (``(D * num_layers, H)`` for unbatched input); zeros when None. ``D`` is 2 when
        bidirectional, else 1.
"""


class RNN(_RNNBase):
    __doc__ = (
        """Elman RNN, ``S_t = f(U x_t + b_ih + W S_{t-1} + b_hh)``, f = tanh or ReLU.

    A drop-in twin of :class:`torch.nn.RNN`; equivalent, for one layer and direction, to::

        for t in range(L):
            h = torch.tanh(x[t] @ weight_ih_l0.T + bias_ih_l0 + h @ weight_hh_l0.T + bias_hh_l0)

    Arguments are those of :class:`torch.nn.RNN`: ``input_size, hidden_size, num_layers,
    nonlinearity, bias, batch_first, dropout, bidirectional, device, dtype``. Like torch's,
    it raises a ValueError if given ``proj_size`` (an LSTM-only option).
"""
        + _SHAPES
        + """
    Returns:
        ``(output, h_n)``: output ``(L, N, D*H)`` (batch-first, unbatched or packed like the
        input), the states of every time step of the last layer; h_n ``(D*num_layers, N, H)``.

    Example:
        >>> rnn = RNN(3, 5, num_layers=2)
        >>> output, h_n = rnn(torch.zeros(7, 2, 3))
        >>> output.shape, h_n.shape
        (torch.Size([7, 2, 5]), torch.Size([2, 2, 5]))
    """
    )

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        proj_size: None = None,
    ) -> None:
        _checks.check_no_proj_size("RNN", proj_size)  # only so that torch's ValueError is raised
        _checks.check_nonlinearity(nonlinearity)
        self.nonlinearity = nonlinearity
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)


class LSTM(_RNNBase):
    __doc__ = (
        """Long short-term memory, gates i, f, g, o (see :func:`rnnlib.nn.cells.lstm_update`).

    A drop-in twin of :class:`torch.nn.LSTM`, projections included.

    Arguments are those of :class:`torch.nn.LSTM`: ``input_size, hidden_size, num_layers,
    bias, batch_first, dropout, bidirectional, proj_size, device, dtype``.

    With ``proj_size = P > 0`` (``P < H``) the cell's output ``m_t = o_t ⊙ tanh(c_t)`` is
    projected, ``h_t = W_hr m_t``, by one more parameter per layer and direction,
    ``weight_hr_l{k}[_reverse]`` of shape ``(P, H)``. Then ``h`` has ``H_out = P`` features
    (so ``weight_hh`` is ``(4H, P)`` and layer k > 0 reads ``D*P`` features), while ``c``
    keeps ``H``; without projections ``H_out = H``.
"""
        + _SHAPES
        + """
    Returns:
        ``(output, (h_n, c_n))``: output ``(L, N, D*H_out)`` as for :class:`RNN`; h_n
        ``(D*num_layers, N, H_out)`` and c_n ``(D*num_layers, N, H)``. ``hx``, when given, is
        the tuple ``(h_0, c_0)`` of those shapes.

    Example:
        >>> lstm = LSTM(3, 5, batch_first=True, bidirectional=True)
        >>> output, (h_n, c_n) = lstm(torch.zeros(2, 7, 3))
        >>> output.shape, h_n.shape, c_n.shape
        (torch.Size([2, 7, 10]), torch.Size([2, 2, 5]), torch.Size([2, 2, 5]))
        >>> output, (h_n, c_n) = LSTM(3, 5, proj_size=2)(torch.zeros(7, 4, 3))
        >>> output.shape, h_n.shape, c_n.shape
        (torch.Size([7, 4, 2]), torch.Size([1, 4, 2]), torch.Size([1, 4, 5]))
    """
    )

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device=device, dtype=dtype)


class GRU(_RNNBase):
    __doc__ = (
        """Gated recurrent unit, gates r, z, n (see :func:`rnnlib.nn.cells.gru_update`).

    A drop-in twin of :class:`torch.nn.GRU`.

    Arguments are those of :class:`torch.nn.GRU`: ``input_size, hidden_size, num_layers,
    bias, batch_first, dropout, bidirectional, device, dtype``. Like torch's, it raises a
    ValueError if given ``proj_size`` (an LSTM-only option).
"""
        + _SHAPES
        + """
    Returns:
        ``(output, h_n)`` as for :class:`RNN`.

    Example:
        >>> gru = GRU(3, 5)
        >>> output, h_n = gru(torch.zeros(7, 3))  # unbatched
        >>> output.shape, h_n.shape
        (torch.Size([7, 5]), torch.Size([1, 5]))
    """
    )

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        proj_size: None = None,
    ) -> None:
        _checks.check_no_proj_size("GRU", proj_size)  # only so that torch's ValueError is raised
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)
