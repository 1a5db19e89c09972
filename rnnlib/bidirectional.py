"""A bidirectional RNN built from two single-direction layers, and per-length reversal.

A bidirectional RNN (BiRNN) reads a sequence twice: a forward layer from the first step to the
last, a backward layer from the last step to the first, and joins the two states of each step,
``[S_t^forward, S_t^backward]`` (source 000, §5). The backward layer is an ordinary
single-direction layer run on the *reversed* sequence, whose outputs are reversed back so that
step t of both halves belongs to input step t.

In a padded batch of sequences of different lengths, "reversed" must mean reversed within each
sequence's own length: :func:`reverse_padded`. Flipping the whole padded tensor
(``torch.flip``) would hand the backward layer the padding first, and its state at every real
step would depend on the padding: the classic bug this module's tests guard against.

:class:`BiRNN` is that mechanism, written out. For one layer it gives the same numbers as
``torch.nn.GRU(..., bidirectional=True)`` (and rnnlib's, and the RNN/LSTM ones), and
:meth:`BiRNN.from_bidirectional` copies such a layer's weights into one to check it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from rnnlib.nn import _checks
from rnnlib.nn.packing import pack_padded_sequence
from rnnlib.nn.rnn import GRU, LSTM, RNN, _RNNBase

__all__ = ["BiRNN", "copy_direction", "reverse_padded"]


def _check_lengths(lengths: Tensor | Sequence[int], batch: int, length: int) -> Tensor:
    """Lengths as a CPU int64 tensor; bool tensors are not lengths."""
    if isinstance(lengths, Tensor) and lengths.dtype == torch.bool:
        raise TypeError("expected integer lengths, got a tensor of dtype torch.bool")
    if not isinstance(lengths, (Tensor, Sequence)) or isinstance(lengths, str):
        raise TypeError(
            f"expected lengths as a 1-D integer tensor or a sequence of ints, "
            f"got {type(lengths).__name__}"
        )
    return _checks.check_lengths(lengths, batch, length)


def reverse_padded(
    x: Tensor, lengths: Tensor | Sequence[int], *, batch_first: bool = False
) -> Tensor:
    """Reverse each sequence of a padded batch within its own length.

    Sequence n's steps ``0 .. lengths[n]-1`` come out in reverse order; its padding steps
    ``lengths[n] .. L-1`` stay where they are and keep their values. The operation is its own
    inverse, and is differentiable (a gather along the time axis).

    Args:
        x: padded batch ``(L, N, *)``, or ``(N, L, *)`` with ``batch_first=True``.
        lengths: one length per sequence, integers in ``[1, L]`` (a 1-D tensor or a sequence).
        batch_first: layout of ``x``.

    Returns:
        A tensor of the shape, dtype and device of ``x``.

    Raises:
        TypeError: ``x`` not a tensor, ``lengths`` not integers.
        ValueError: ``x`` with fewer than 2 dimensions, a wrong number of lengths, a length
            below 1 or above L.

    Example:
        >>> x = torch.tensor([[1, 2, 3, 0], [4, 5, 6, 7]])  # (N, L), padded with 0
        >>> reverse_padded(x, [3, 4], batch_first=True)
        tensor([[3, 2, 1, 0],
                [7, 6, 5, 4]])
        >>> torch.flip(x, dims=[1])  # the classic bug: the padding comes first
        tensor([[0, 3, 2, 1],
                [7, 6, 5, 4]])
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"expected x to be a torch.Tensor, got {type(x).__name__}")
    if not isinstance(batch_first, bool):
        raise TypeError(f"batch_first should be of type bool, got: {type(batch_first).__name__}")
    if x.dim() < 2:
        layout = "(N, L, *)" if batch_first else "(L, N, *)"
        raise ValueError(
            f"expected a padded batch {layout} with at least 2 dimensions, "
            f"got shape {tuple(x.shape)}"
        )
    time_dim, batch_dim = (1, 0) if batch_first else (0, 1)
    length, batch = x.shape[time_dim], x.shape[batch_dim]
    lengths = _check_lengths(lengths, batch, length)
    t = torch.arange(length).unsqueeze(1)  # (L, 1)
    n = lengths.unsqueeze(0)  # (1, N)
    index = torch.where(t < n, n - 1 - t, t)  # (L, N): source step of each output step
    if batch_first:
        index = index.T  # (N, L)
    index = index.to(x.device).reshape(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return torch.gather(x, time_dim, index)


_LAYERS = (_RNNBase, nn.RNNBase)


def copy_direction(layer: nn.Module, k: int = 0, *, reverse: bool = False) -> nn.Module:
    """A new one-layer, one-direction rnnlib layer holding one direction of one layer of ``layer``.

    Layer ``k`` of a (possibly deep, possibly bidirectional) rnnlib or torch.nn RNN, LSTM or GRU,
    its forward direction or, with ``reverse=True``, its backward one (the ``_reverse``
    parameters): same kind, bias, ``batch_first``, dtype and device, and a copy of the weights.
    :class:`BiRNN` and :class:`rnnlib.deep.DeepRNN` are built from such copies.
    """
    if not isinstance(layer, _LAYERS):
        raise TypeError(
            "expected a recurrent layer (rnnlib or torch.nn RNN, LSTM or GRU), "
            f"got {type(layer).__name__}"
        )
    if getattr(layer, "proj_size", 0) != 0:
        raise ValueError(f"expected a layer without projection (proj_size=0), "
                         f"got proj_size={layer.proj_size}")
    if not 0 <= k < layer.num_layers or (reverse and not layer.bidirectional):
        raise ValueError(f"the layer has {layer.num_layers} layer(s), bidirectional="
                         f"{layer.bidirectional}: there is no layer {k}"
                         + (", reverse direction" if reverse else ""))
    p = layer.weight_ih_l0
    kwargs = {"bias": layer.bias, "batch_first": layer.batch_first, "device": p.device,
              "dtype": p.dtype}
    if layer.mode in ("RNN_TANH", "RNN_RELU"):
        make = RNN
        kwargs["nonlinearity"] = "tanh" if layer.mode == "RNN_TANH" else "relu"
    else:
        make = {"LSTM": LSTM, "GRU": GRU}[layer.mode]
    directions = 2 if layer.bidirectional else 1
    input_size = layer.input_size if k == 0 else directions * layer.hidden_size
    one = make(input_size, layer.hidden_size, **kwargs)
    suffix = "_reverse" if reverse else ""
    with torch.no_grad():
        for name, param in one.named_parameters():  # weight_ih_l0, ...
            param.copy_(getattr(layer, name.replace("_l0", f"_l{k}") + suffix))
    return one


def _check_layer(name: str, layer: object) -> None:
    if not isinstance(layer, _LAYERS):
        raise TypeError(
            f"expected {name} to be a recurrent layer (rnnlib or torch.nn RNN, LSTM or GRU), "
            f"got {type(layer).__name__}"
        )
    if layer.num_layers != 1 or layer.bidirectional:
        raise ValueError(
            f"expected {name} to be one layer in one direction (num_layers=1, "
            f"bidirectional=False), got num_layers={layer.num_layers}, "
            f"bidirectional={layer.bidirectional}"
        )
    if getattr(layer, "proj_size", 0) != 0:
        raise ValueError(f"expected {name} without projection (proj_size=0), "
                         f"got proj_size={layer.proj_size}")


class BiRNN(nn.Module):
    """A bidirectional recurrent layer made of two single-direction layers.

    The forward layer reads ``x_1 .. x_L``; the backward layer reads the same sequence
    reversed (within each sequence's own length when ``lengths`` are given), and its outputs
    are reversed back. Step t of the output is ``[S_t^forward, S_t^backward]``: what came
    before step t and what comes after it, both including ``x_t``.

    Args:
        forward_layer: a one-layer, one-direction ``rnnlib.RNN/LSTM/GRU`` or ``torch.nn`` one.
        backward_layer: a layer of the same kind (mode), ``input_size``, ``hidden_size`` and
            ``batch_first``, with its own weights.

    Shape:
        - input ``x``: ``(L, N, H_in)``, ``(N, L, H_in)`` with ``batch_first``, or unbatched
          ``(L, H_in)``.
        - ``lengths``: ``(N,)`` integers in ``[1, L]``, or None (every sequence has length L).
        - ``hx``: ``(2, N, H)`` (``(2, H)`` unbatched), forward then backward; for an LSTM a
          tuple ``(h_0, c_0)``; zeros when None.

    Returns:
        ``(output, h_n)`` as ``torch.nn.GRU(..., bidirectional=True)`` on a packed batch:
        output ``(L, N, 2H)`` (batch-first or unbatched like the input) with zeros at padded
        steps; ``h_n`` ``(2, N, H)``: the forward state after each sequence's last real step
        and the backward state after its first step (LSTM: the tuple ``(h_n, c_n)``).

    Example:
        >>> from rnnlib import GRU
        >>> bi = BiRNN(GRU(3, 5, batch_first=True), GRU(3, 5, batch_first=True))
        >>> output, h_n = bi(torch.zeros(2, 7, 3), lengths=[7, 4])
        >>> output.shape, h_n.shape
        (torch.Size([2, 7, 10]), torch.Size([2, 2, 5]))
        >>> bool((output[1, 4:] == 0).all())  # padded steps are zeros
        True
    """

    def __init__(self, forward_layer: nn.Module, backward_layer: nn.Module) -> None:
        super().__init__()
        _check_layer("forward_layer", forward_layer)
        _check_layer("backward_layer", backward_layer)
        if forward_layer is backward_layer:
            raise ValueError("expected two distinct layers (each direction has its own weights), "
                             "got the same layer twice")
        for attr in ("mode", "input_size", "hidden_size", "batch_first", "bias"):
            a, b = getattr(forward_layer, attr), getattr(backward_layer, attr)
            if a != b:
                raise ValueError(
                    f"expected forward and backward layers with equal {attr}, "
                    f"got {a!r} and {b!r}"
                )
        pf, pb = next(forward_layer.parameters()), next(backward_layer.parameters())
        if pf.dtype != pb.dtype or pf.device != pb.device:
            raise ValueError(
                f"expected both layers with the same dtype and device, got {pf.dtype} on "
                f"{pf.device} and {pb.dtype} on {pb.device}"
            )
        self.forward_layer = forward_layer
        self.backward_layer = backward_layer

    # torch.nn's interface, read by rnnlib.models.EveryStep/LastStep and by stacks of BiRNNs
    mode = property(lambda self: self.forward_layer.mode)
    input_size = property(lambda self: self.forward_layer.input_size)
    hidden_size = property(lambda self: self.forward_layer.hidden_size)
    batch_first = property(lambda self: self.forward_layer.batch_first)
    bidirectional = True
    num_layers = 1

    @property
    def output_size(self) -> int:
        """Features per step of the output, ``2 * hidden_size``."""
        return 2 * self.hidden_size

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, mode={self.mode}"

    def _split_states(self, hx, batched: bool, n: int, like: Tensor):
        """``hx`` in the (2, N, H) layout -> (forward, backward) states, each (1, N, H)."""
        num_states = 2 if self.mode == "LSTM" else 1
        if hx is None:
            return None, None
        shape = (2, n, self.hidden_size) if batched else (2, self.hidden_size)
        states = _checks.check_states(type(self).__name__, hx, num_states, shape, like)
        if not batched:
            states = [s.unsqueeze(1) for s in states]  # (2, 1, H)
        fw = tuple(s[0:1] for s in states)
        bw = tuple(s[1:2] for s in states)
        return (fw if num_states == 2 else fw[0]), (bw if num_states == 2 else bw[0])

    def forward(self, x: Tensor, lengths: Tensor | Sequence[int] | None = None, hx=None):
        """Run both directions and join them; see the class docstring for shapes."""
        name = type(self).__name__
        if isinstance(x, PackedSequence):
            raise TypeError(f"{name}: expected a padded tensor and its lengths, got a "
                            "PackedSequence; unpack it with pad_packed_sequence")
        weight = next(self.forward_layer.parameters())
        _checks.check_layer_input(name, x, self.input_size, weight, self.batch_first)
        batched = x.dim() == 3
        if not batched:
            if lengths is not None:
                raise ValueError(f"{name}: lengths need a batched input (L, N, H_in) or "
                                 f"(N, L, H_in), got unbatched shape {tuple(x.shape)}")
            x = x.unsqueeze(0 if self.batch_first else 1)
        bf = self.batch_first
        time_dim = 1 if bf else 0
        length, n = x.shape[time_dim], x.shape[1 - time_dim]
        h0_f, h0_b = self._split_states(hx, batched, n, x)

        if lengths is None:
            out_f, h_f = self.forward_layer(x, h0_f)
            out_b, h_b = self.backward_layer(torch.flip(x, dims=[time_dim]), h0_b)
            out_b = torch.flip(out_b, dims=[time_dim])  # step t of out_b is input step t again
        else:
            lengths = _check_lengths(lengths, n, length)
            x_rev = reverse_padded(x, lengths, batch_first=bf)  # each sequence read backwards

            def run(layer, inp, h0):  # packed, so that each final state is at its own length
                packed = pack_padded_sequence(inp, lengths, batch_first=bf, enforce_sorted=False)
                out, h = layer(packed, h0)
                out, _ = pad_packed_sequence(out, batch_first=bf, total_length=length)
                return out, h  # zeros at padded steps

            out_f, h_f = run(self.forward_layer, x, h0_f)
            out_b, h_b = run(self.backward_layer, x_rev, h0_b)
            out_b = reverse_padded(out_b, lengths, batch_first=bf)
        output = torch.cat([out_f, out_b], dim=-1)  # (..., 2H): [forward, backward]
        if isinstance(h_f, tuple):  # LSTM
            h_n = tuple(torch.cat([a, b], dim=0) for a, b in zip(h_f, h_b, strict=True))
        else:
            h_n = torch.cat([h_f, h_b], dim=0)  # (2, N, H)
        if not batched:
            output = output.squeeze(time_dim ^ 1)
            h_n = tuple(h.squeeze(1) for h in h_n) if isinstance(h_n, tuple) else h_n.squeeze(1)
        return output, h_n

    @classmethod
    def from_bidirectional(cls, layer: nn.Module) -> BiRNN:
        """A BiRNN of two rnnlib layers carrying the weights of a bidirectional layer.

        Args:
            layer: a one-layer ``bidirectional=True`` ``rnnlib.RNN/LSTM/GRU`` or ``torch.nn``
                one. Its ``weight_*_l0`` go to the forward layer, its ``weight_*_l0_reverse``
                to the backward layer (copies: the new BiRNN does not share them).

        Returns:
            A BiRNN with the layer's mode, sizes, bias, ``batch_first``, dtype and device.

        Example:
            >>> gru = torch.nn.GRU(3, 5, bidirectional=True)
            >>> bi = BiRNN.from_bidirectional(gru)
            >>> x = torch.randn(4, 2, 3)
            >>> torch.allclose(bi(x)[0], gru(x)[0], atol=1e-6)
            True
        """
        if not isinstance(layer, _LAYERS):
            raise TypeError(
                "expected a bidirectional recurrent layer (rnnlib or torch.nn RNN, LSTM or "
                f"GRU), got {type(layer).__name__}"
            )
        if layer.num_layers != 1 or not layer.bidirectional:
            raise ValueError(
                "expected one bidirectional layer (num_layers=1, bidirectional=True), got "
                f"num_layers={layer.num_layers}, bidirectional={layer.bidirectional}"
            )
        return cls(copy_direction(layer), copy_direction(layer, reverse=True))
