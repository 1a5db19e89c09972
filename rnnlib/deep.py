"""Deep (stacked) recurrent networks built from single layers: the first source's DRNN.

A deep RNN stacks recurrent layers so that the sequence of outputs of one layer is the input
sequence of the next (source 000, §6: "每一个红框里面都是一个BiRNN，然后一层BiRNN的输出值
再作为另一个BiRNN的输入"). With layer l's output sequence written
:math:`X^{(l)} = (x^{(l)}_1, \\dots, x^{(l)}_L)` and :math:`X^{(0)}` the input,

    X^{(l)} = layer_l(drop(X^{(l-1)}))               (plain stack, l = 1 .. k)
    X^{(l)} = layer_l(drop(X^{(l-1)})) + drop(X^{(l-1)})   (residual, l = 2 .. k)

where ``drop`` is dropout with probability p in training mode and the identity otherwise, and
it acts between layers only (not on the input of layer 1 nor on the output of layer k), as
``torch.nn.GRU(..., dropout=p)`` does. :class:`DeepRNN` is that loop; with BiRNN layers
(:class:`rnnlib.bidirectional.BiRNN`) it is the source's DRNN, and
:meth:`DeepRNN.from_layer` copies the weights of a ``num_layers=k`` layer of rnnlib or torch.nn
into one, which computes the same outputs, final states and gradients.

:func:`count_parameters` and :func:`hidden_size_for_budget` compare stacks of different depths
at one parameter budget.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from rnnlib.bidirectional import BiRNN, copy_direction
from rnnlib.nn import _checks
from rnnlib.nn.packing import pack_padded_sequence
from rnnlib.nn.rnn import _RNNBase

__all__ = ["DeepRNN", "count_parameters", "hidden_size_for_budget"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "RNN": 1, "LSTM": 4, "GRU": 3}
_INTERFACE = ("mode", "input_size", "hidden_size", "batch_first", "bidirectional", "num_layers")


def _directions(layer: nn.Module) -> int:
    return 2 if layer.bidirectional else 1


def _takes_lengths(layer: nn.Module) -> bool:
    """Whether ``layer.forward`` has a ``lengths`` argument (BiRNN, DeepRNN)."""
    return "lengths" in inspect.signature(layer.forward).parameters


class DeepRNN(nn.Module):
    """A stack of recurrent layers, each reading the output sequence of the one below.

    Layer l reads :math:`\\tilde X^{(l-1)}`, layer l-1's output after dropout (training mode
    only; layer 1 reads the input as it is). With ``residual=True`` every layer but the first
    adds what it read to what it computed, :math:`X^{(l)} = \\text{layer}_l(\\tilde X^{(l-1)})
    + \\tilde X^{(l-1)}`: the sum goes after the layer and before the dropout on the way to the
    next layer. A residual sum needs the layer's input and output widths to agree,
    ``input_size == D * hidden_size``, which holds for layers 2 .. k of any stack of equal
    layers (the first layer reads the data and never gets one).

    ``forward`` takes ``(input, lengths, hx)`` in that order, as
    :class:`~rnnlib.bidirectional.BiRNN` does (torch.nn's layers take ``(input, hx)``): pass
    ``hx`` by keyword.

    Args:
        layers: the layers, bottom first: ``rnnlib.bidirectional.BiRNN`` (the source's DRNN),
            or ``rnnlib``/``torch.nn`` RNN, LSTM or GRU layers, or anything with their interface
            (``mode, input_size, hidden_size, batch_first, bidirectional, num_layers``). All of
            one ``hidden_size`` and ``batch_first``; all LSTMs or none; layer l's
            ``input_size`` equal to layer l-1's output width ``D * hidden_size``.
        dropout: probability of zeroing an element of each layer's output before the next
            layer reads it (training mode only; no dropout after the last layer).
        residual: add each layer's input to its output, for layers 2 .. k.

    Shape:
        - input: ``(L, N, H_in)``, ``(N, L, H_in)`` when the layers are ``batch_first``, or
          unbatched ``(L, H_in)``.
        - lengths: ``(N,)`` integers in ``[1, L]`` or None; a padded batch is then read as
          ``torch.nn`` reads the packed batch, and padded steps of the output are zeros.
        - hx: ``(S, N, H)`` with ``S = sum over layers of D * num_layers`` (``2k`` for k
          BiRNNs), ordered as torch's: layer 1 forward, layer 1 backward, layer 2 forward, ...;
          a tuple ``(h_0, c_0)`` for LSTMs; zeros when None.

    Returns:
        ``(output, h_n)``: the last layer's output ``(L, N, D * H)`` (batch-first or unbatched
        like the input) and every layer's final states in the layout of ``hx``, exactly as
        ``torch.nn.GRU(..., num_layers=k, bidirectional=True)`` returns them.

    Example:
        >>> from rnnlib import GRU
        >>> gru = GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True)
        >>> deep = DeepRNN.from_layer(gru)
        >>> [type(layer).__name__ for layer in deep.layers]
        ['BiRNN', 'BiRNN']
        >>> x = torch.randn(5, 7, 3)
        >>> output, h_n = deep(x)
        >>> output.shape, h_n.shape
        (torch.Size([5, 7, 8]), torch.Size([4, 5, 4]))
        >>> torch.allclose(output, gru(x)[0], atol=1e-6)
        True
    """

    def __init__(
        self, layers: Sequence[nn.Module], *, dropout: float = 0.0, residual: bool = False
    ) -> None:
        super().__init__()
        if isinstance(layers, nn.Module) or not isinstance(layers, (Sequence, nn.ModuleList)):
            raise TypeError(
                f"expected a sequence of recurrent layers, got {type(layers).__name__}"
            )
        layers = list(layers)
        if not layers:
            raise ValueError("expected at least one layer, got none")
        for i, layer in enumerate(layers):
            if not isinstance(layer, nn.Module):
                raise TypeError(f"expected layers[{i}] to be a module, got {type(layer).__name__}")
            missing = [a for a in _INTERFACE if not hasattr(layer, a)]
            if missing:
                raise TypeError(
                    f"expected layers[{i}] to have torch.nn's recurrent interface, "
                    f"{type(layer).__name__} lacks {missing}"
                )
            if getattr(layer, "proj_size", 0):
                raise ValueError(f"expected layers without projection, layers[{i}] has "
                                 f"proj_size={layer.proj_size}")
        _checks.check_bool(residual=residual)
        _checks.check_dropout(dropout, len(layers))
        first = layers[0]
        for i, (below, layer) in enumerate(zip(layers, layers[1:], strict=False), start=1):
            for attr in ("hidden_size", "batch_first"):
                if getattr(layer, attr) != getattr(first, attr):
                    raise ValueError(
                        f"expected layers of one {attr} (h_n stacks them), got "
                        f"{getattr(first, attr)!r} in layers[0] and {getattr(layer, attr)!r} "
                        f"in layers[{i}]"
                    )
            if (layer.mode == "LSTM") != (first.mode == "LSTM"):
                raise ValueError(
                    f"expected all layers LSTMs or none (their states differ), got "
                    f"{first.mode} in layers[0] and {layer.mode} in layers[{i}]"
                )
            width = _directions(below) * below.hidden_size
            if layer.input_size != width:
                raise ValueError(
                    f"expected layers[{i}].input_size == {width}, the output width "
                    f"D * hidden_size of layers[{i - 1}], got {layer.input_size}"
                )
            out = _directions(layer) * layer.hidden_size
            if residual and out != layer.input_size:
                raise ValueError(
                    f"residual=True adds each layer's input to its output, so it needs "
                    f"input_size == D * hidden_size; layers[{i}] maps {layer.input_size} "
                    f"features to {out}"
                )
        self.layers = nn.ModuleList(layers)
        self.dropout, self.residual = float(dropout), residual
        self._takes_lengths = [_takes_lengths(layer) for layer in layers]
        self._states = [_directions(layer) * layer.num_layers for layer in layers]

    # torch.nn's interface, read by rnnlib.models.EveryStep/LastStep
    mode = property(lambda self: self.layers[-1].mode)
    input_size = property(lambda self: self.layers[0].input_size)
    hidden_size = property(lambda self: self.layers[0].hidden_size)
    batch_first = property(lambda self: self.layers[0].batch_first)
    bidirectional = property(lambda self: bool(self.layers[-1].bidirectional))
    num_layers = property(lambda self: len(self.layers))

    def extra_repr(self) -> str:
        return f"dropout={self.dropout}, residual={self.residual}"

    def forward(self, input: Tensor, lengths: Tensor | Sequence[int] | None = None, hx=None):
        """Run the stack; see the class docstring for shapes and return values."""
        outputs, h_n = self._run(input, lengths, hx)
        return outputs[-1], h_n

    def layer_outputs(
        self, input: Tensor, lengths: Tensor | Sequence[int] | None = None, hx=None
    ) -> list[Tensor]:
        """Every layer's output sequence :math:`X^{(1)}, \\dots, X^{(k)}`, bottom first.

        Each is taken after the residual sum and before dropout, in the autograd graph, so
        ``torch.autograd.grad(loss, model.layer_outputs(x))`` gives the gradient that reaches
        each layer of the stack.

        Returns:
            A list of k tensors shaped like the output of :meth:`forward`.
        """
        return self._run(input, lengths, hx)[0]

    def _run(self, input, lengths, hx) -> tuple[list[Tensor], Tensor | tuple[Tensor, Tensor]]:
        name = type(self).__name__
        if isinstance(input, PackedSequence):
            raise TypeError(f"{name}: expected a padded tensor and its lengths, got a "
                            "PackedSequence; unpack it with pad_packed_sequence")
        weight = next(self.parameters())
        _checks.check_layer_input(name, input, self.input_size, weight, self.batch_first)
        batched, bf = input.dim() == 3, self.batch_first
        if not batched:
            if lengths is not None:
                raise ValueError(f"{name}: lengths need a batched input (L, N, H_in) or "
                                 f"(N, L, H_in), got unbatched shape {tuple(input.shape)}")
            input = input.unsqueeze(0 if bf else 1)  # a batch of one
        length, n = (input.shape[1], input.shape[0]) if bf else input.shape[:2]
        if isinstance(lengths, tuple) or (isinstance(lengths, Tensor) and lengths.dim() > 1):
            raise TypeError(f"{name}: expected lengths (N,) as the second argument, got what "
                            "looks like a state; pass the initial state as hx=...")
        if lengths is not None:
            if isinstance(lengths, Tensor) and lengths.dtype == torch.bool:
                raise TypeError("expected integer lengths, got a tensor of dtype torch.bool")
            lengths = _checks.check_lengths(lengths, n, length)
        num_states, total = (2 if self.mode == "LSTM" else 1), sum(self._states)
        states = None
        if hx is not None:
            shape = (total, n, self.hidden_size) if batched else (total, self.hidden_size)
            states = _checks.check_states(name, hx, num_states, shape, input)
            states = [s if batched else s.unsqueeze(1) for s in states]  # (S, N, H)

        x, outputs, finals, first = input, [], [[] for _ in range(num_states)], 0
        for i in range(len(self.layers)):
            h0 = None
            if states is not None:  # this layer's rows of hx
                rows = [s[first : first + self._states[i]] for s in states]
                h0 = tuple(rows) if num_states == 2 else rows[0]
            first += self._states[i]
            if i > 0 and self.dropout > 0:
                x = F.dropout(x, self.dropout, training=self.training)  # between layers only
            y, h = self._layer(i, x, lengths, h0, length)  # (L, N, D*H) or (N, L, D*H)
            if self.residual and i > 0:
                y = y + x  # X^(l) = layer_l(X^(l-1)) + X^(l-1)
            outputs.append(y)
            for f, s in zip(finals, h if num_states == 2 else (h,), strict=True):
                f.append(s)
            x = y
        h_n = [torch.cat(f, dim=0) for f in finals]  # (S, N, H) each
        if not batched:
            outputs = [o.squeeze(0 if bf else 1) for o in outputs]
            h_n = [h.squeeze(1) for h in h_n]
        return outputs, (tuple(h_n) if num_states == 2 else h_n[0])

    def _layer(self, i: int, x: Tensor, lengths: Tensor | None, h0, length: int):
        """Layer i on a padded batch; a layer without ``lengths`` reads it packed."""
        layer = self.layers[i]
        if self._takes_lengths[i]:
            return layer(x, lengths=lengths, hx=h0)
        if lengths is None:
            return layer(x, h0)
        bf = self.batch_first
        packed = pack_padded_sequence(x, lengths, batch_first=bf, enforce_sorted=False)
        out, h = layer(packed, h0)
        out, _ = pad_packed_sequence(out, batch_first=bf, total_length=length)  # zeros at pads
        return out, h

    @classmethod
    def from_layer(
        cls, layer: nn.Module, *, residual: bool = False, dropout: float | None = None
    ) -> DeepRNN:
        """A stack of single rnnlib layers carrying the weights of a ``num_layers=k`` layer.

        Layer l of the stack gets the weights ``*_l{l}`` of ``layer`` (copies, not shared);
        a bidirectional layer becomes k :class:`~rnnlib.bidirectional.BiRNN` layers, whose
        backward halves get ``*_l{l}_reverse``. With the default arguments the stack computes
        what ``layer`` computes.

        Args:
            layer: an ``rnnlib`` or ``torch.nn`` RNN, LSTM or GRU, any ``num_layers``.
            residual: see the class docstring (the result then differs from ``layer``).
            dropout: between layers; None takes ``layer.dropout``.

        Returns:
            A DeepRNN with the layer's mode, sizes, bias, ``batch_first``, dtype and device.
        """
        if not isinstance(layer, (_RNNBase, nn.RNNBase)):
            raise TypeError(
                "expected a recurrent layer (rnnlib or torch.nn RNN, LSTM or GRU), "
                f"got {type(layer).__name__}"
            )
        stack = [
            BiRNN(copy_direction(layer, k), copy_direction(layer, k, reverse=True))
            if layer.bidirectional else copy_direction(layer, k)
            for k in range(layer.num_layers)
        ]
        return cls(stack, dropout=layer.dropout if dropout is None else dropout,
                   residual=residual)


def count_parameters(
    mode: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    *,
    bidirectional: bool = False,
    bias: bool = True,
) -> int:
    """The number of parameters of ``torch.nn.<mode>(input_size, hidden_size, num_layers, ...)``.

    Each layer and direction has G gate blocks (1 for RNN, 3 for GRU, 4 for LSTM), each with
    input weights, recurrent weights and two biases:
    :math:`G H (H_\\text{in}^{(l)} + H + 2)`, where the input width of layer l is ``input_size``
    for the first layer and ``D * hidden_size`` for the others.

    Args:
        mode: ``"RNN"`` (or ``"RNN_TANH"``, ``"RNN_RELU"``), ``"GRU"`` or ``"LSTM"``.
        input_size, hidden_size, num_layers, bidirectional, bias: as for the layer.

    Example:
        >>> count_parameters("GRU", 16, 48, 2, bidirectional=True)
        61056
        >>> sum(p.numel() for p in torch.nn.GRU(16, 48, 2, bidirectional=True).parameters())
        61056
    """
    if mode not in _GATES:
        raise ValueError(f"expected mode one of {sorted(_GATES)}, got {mode!r}")
    _checks.check_sizes(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
    _checks.check_bool(bidirectional=bidirectional, bias=bias)
    G, H, D = _GATES[mode], hidden_size, 2 if bidirectional else 1
    total = 0
    for k in range(num_layers):
        width = input_size if k == 0 else D * H
        total += D * G * H * (width + H + (2 if bias else 0))
    return total


def hidden_size_for_budget(
    budget: int,
    mode: str,
    input_size: int,
    num_layers: int = 1,
    *,
    bidirectional: bool = False,
    bias: bool = True,
    out_features: int = 0,
) -> int:
    """The largest ``hidden_size`` whose layer (and read-out) has at most ``budget`` parameters.

    Used to compare stacks of different depth at one parameter budget: a deeper stack gets
    narrower layers. The count is :func:`count_parameters` plus, when ``out_features > 0``,
    a linear read-out from the ``D * hidden_size`` outputs: ``(D * H + 1) * out_features``.

    Args:
        budget: the most parameters allowed.
        mode, input_size, num_layers, bidirectional, bias: as for :func:`count_parameters`.
        out_features: size of a linear read-out to count as well (0: none).

    Raises:
        ValueError: if even ``hidden_size=1`` needs more than ``budget`` parameters.

    Example:
        >>> hidden_size_for_budget(20_000, "GRU", 16, 1, bidirectional=True, out_features=2)
        49
        >>> hidden_size_for_budget(20_000, "GRU", 16, 4, bidirectional=True, out_features=2)
        17
    """
    _checks.check_sizes(budget=budget)
    if isinstance(out_features, bool) or not isinstance(out_features, int) or out_features < 0:
        raise ValueError(f"expected an int out_features >= 0, got {out_features!r}")
    D = 2 if bidirectional else 1

    def size(h: int) -> int:
        layer = count_parameters(mode, input_size, h, num_layers,
                                 bidirectional=bidirectional, bias=bias)
        return layer + (D * h + 1) * out_features

    if size(1) > budget:
        raise ValueError(
            f"expected a budget of at least {size(1)} parameters (hidden_size=1), got {budget}"
        )
    low, high = 1, 2
    while size(high) <= budget:  # the count grows with h: double, then bisect
        low, high = high, 2 * high
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if size(mid) <= budget else (low, mid)
    return low
