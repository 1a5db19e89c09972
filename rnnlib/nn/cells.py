"""Recurrent cells written out by hand: one time step of an RNN, an LSTM and a GRU.

Each cell is split in two halves that the layers in :mod:`rnnlib.nn.rnn` reuse:

- the two affine maps, ``gi = W_ih x_t + b_ih`` (the input part, book notation ``U x_t``) and
  ``gh = W_hh h_{t-1} + b_hh`` (the recurrent part, ``W S_{t-1}``);
- an *update* function that turns ``gi`` and ``gh`` into the new state, one gate per line.

Gate order and gate algebra are PyTorch's (LSTM: i, f, g, o; GRU: r, z, n), so the modules load
``torch.nn.RNNCell`` / ``LSTMCell`` / ``GRUCell`` state dicts unchanged and give the same numbers.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnlib.nn import _checks

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "rnn_update", "lstm_update", "gru_update"]


def rnn_update(gi: Tensor, gh: Tensor, nonlinearity: str = "tanh") -> Tensor:
    """Elman update ``S_t = f(U x_t + W S_{t-1} + b)`` from its two affine parts.

    Args:
        gi: ``U x_t + b_ih``, shape ``(*, H)``.
        gh: ``W S_{t-1} + b_hh``, shape ``(*, H)``.
        nonlinearity: ``"tanh"`` or ``"relu"``.

    Returns:
        The new state ``S_t``, shape ``(*, H)``.
    """
    a = gi + gh  # a_t = U x_t + W S_{t-1} + b
    return torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)  # S_t = f(a_t)


def lstm_update(gi: Tensor, gh: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """LSTM update from its two affine parts (gate order i, f, g, o, as PyTorch).

    Args:
        gi: ``W_ih x_t + b_ih``, shape ``(*, 4H)``.
        gh: ``W_hh h_{t-1} + b_hh``, shape ``(*, 4H)``.
        c: the previous cell state ``c_{t-1}``, shape ``(*, H)``.

    Returns:
        ``(h_t, c_t)``, each of shape ``(*, H)``.
    """
    x_i, x_f, x_g, x_o = gi.chunk(4, dim=-1)
    h_i, h_f, h_g, h_o = gh.chunk(4, dim=-1)
    i = torch.sigmoid(x_i + h_i)  # i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)  input gate
    f = torch.sigmoid(x_f + h_f)  # f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)  forget gate
    g = torch.tanh(x_g + h_g)  # g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)  candidate
    o = torch.sigmoid(x_o + h_o)  # o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)  output gate
    c = f * c + i * g  # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    h = o * torch.tanh(c)  # h_t = o_t ⊙ tanh(c_t)
    return h, c


def gru_update(gi: Tensor, gh: Tensor, h: Tensor) -> Tensor:
    """GRU update from its two affine parts (gate order r, z, n, as PyTorch).

    Args:
        gi: ``W_ih x_t + b_ih``, shape ``(*, 3H)``.
        gh: ``W_hh h_{t-1} + b_hh``, shape ``(*, 3H)``.
        h: the previous state ``h_{t-1}``, shape ``(*, H)``.

    Returns:
        The new state ``h_t``, shape ``(*, H)``.
    """
    x_r, x_z, x_n = gi.chunk(3, dim=-1)
    h_r, h_z, h_n = gh.chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)  # r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)  reset gate
    z = torch.sigmoid(x_z + h_z)  # z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)  update gate
    n = torch.tanh(x_n + r * h_n)  # n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    return (1 - z) * n + z * h  # h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}


class _CellBase(nn.Module):
    """Parameters ``weight_ih (G*H, H_in)``, ``weight_hh (G*H, H)``, ``bias_ih/hh (G*H,)``."""

    num_gates = 1

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__()
        _checks.check_sizes(input_size=input_size)
        _checks.check_sizes_or_zero(hidden_size=hidden_size)  # torch's cells accept 0
        _checks.check_bool(bias=bias)
        factory = {"device": device, "dtype": dtype}
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gates = self.num_gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(gates, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(gates, hidden_size, **factory))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(gates, **factory))
            self.bias_hh = nn.Parameter(torch.empty(gates, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every parameter from U(-1/sqrt(H), 1/sqrt(H)), in torch's order."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0  # H = 0: empty
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _affine(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        gi = F.linear(x, self.weight_ih, self.bias_ih)  # (N, G*H)  U x_t + b_ih
        gh = F.linear(h, self.weight_hh, self.bias_hh)  # (N, G*H)  W h_{t-1} + b_hh
        return gi, gh

    def _prepare(self, input: Tensor, hx, num_states: int) -> tuple[Tensor, list[Tensor], bool]:
        """Validate, add the batch dimension to unbatched input, make zero states."""
        name = type(self).__name__
        _checks.check_cell_input(name, input, self.input_size)
        batched = input.dim() == 2
        n = input.shape[0] if batched else None
        shape = (n, self.hidden_size) if batched else (self.hidden_size,)
        states = _checks.check_cell_states(name, hx, num_states, shape, input, self.weight_ih)
        if hx is None:
            states = [input.new_zeros(shape) for _ in range(num_states)]
        if not batched:
            input, states = input.unsqueeze(0), [s.unsqueeze(0) for s in states]
        return input, states, batched


class RNNCell(_CellBase):
    """An Elman cell: ``S_t = f(U x_t + W S_{t-1} + b)``, ``f`` = tanh or ReLU.

    A drop-in twin of :class:`torch.nn.RNNCell` (same arguments, parameters and results).

    Args:
        input_size: features of ``x_t`` (``H_in``).
        hidden_size: features of the state (``H``); 0 gives empty states, as in torch.
        bias: learn ``bias_ih`` and ``bias_hh``.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        device, dtype: where and in which dtype to create the parameters.

    Shape:
        input ``(N, H_in)`` or ``(H_in,)``; hx ``(N, H)`` or ``(H,)``, zeros when None;
        returns ``S_t`` of the shape of hx.

    Example:
        >>> cell = RNNCell(3, 5)
        >>> cell(torch.zeros(2, 3)).shape
        torch.Size([2, 5])
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
    ) -> None:
        _checks.check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, hx, 1)
        h = rnn_update(*self._affine(x, h), self.nonlinearity)
        return h if batched else h.squeeze(0)


class LSTMCell(_CellBase):
    """A long short-term memory cell (gates i, f, g, o; see :func:`~rnnlib.nn.cells.lstm_update`).

    A drop-in twin of :class:`torch.nn.LSTMCell`.

    Args:
        input_size: features of ``x_t`` (``H_in``).
        hidden_size: features of ``h`` and ``c`` (``H``); 0 gives empty states, as in torch.
        bias: learn ``bias_ih`` and ``bias_hh``.
        device, dtype: where and in which dtype to create the parameters.

    Shape:
        input ``(N, H_in)`` or ``(H_in,)``; hx a tuple ``(h, c)`` of ``(N, H)`` or ``(H,)``,
        zeros when None; returns ``(h_t, c_t)`` of the same shapes.

    Example:
        >>> h, c = LSTMCell(3, 5)(torch.zeros(2, 3))
        >>> h.shape, c.shape
        (torch.Size([2, 5]), torch.Size([2, 5]))
    """

    num_gates = 4

    def forward(
        self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        x, (h, c), batched = self._prepare(input, hx, 2)
        h, c = lstm_update(*self._affine(x, h), c)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(_CellBase):
    """A gated recurrent unit (gates r, z, n; see :func:`~rnnlib.nn.cells.gru_update`).

    A drop-in twin of :class:`torch.nn.GRUCell`.

    Args:
        input_size: features of ``x_t`` (``H_in``).
        hidden_size: features of the state (``H``); 0 gives empty states, as in torch.
        bias: learn ``bias_ih`` and ``bias_hh``.
        device, dtype: where and in which dtype to create the parameters.

    Shape:
        input ``(N, H_in)`` or ``(H_in,)``; hx ``(N, H)`` or ``(H,)``, zeros when None;
        returns ``h_t`` of the shape of hx.

    Example:
        >>> GRUCell(3, 5)(torch.zeros(3)).shape
        torch.Size([5])
    """

    num_gates = 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, hx, 1)
        h = gru_update(*self._affine(x, h), h)
        return h if batched else h.squeeze(0)
