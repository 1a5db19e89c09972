"""Small models built from a recurrent layer, shared by the chapters."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _directions(layer: nn.Module) -> int:
    """D, the number of directions of a recurrent layer with torch.nn's interface."""
    for attr in ("hidden_size", "bidirectional"):
        if not hasattr(layer, attr):
            raise TypeError(
                f"expected a recurrent layer with torch.nn's interface (it needs "
                f"`{attr}`), got {type(layer).__name__}"
            )
    return 2 if layer.bidirectional else 1


class LastStep(nn.Module):
    """Many-to-one: a recurrent layer read out at its final state, :math:`O = V S_T + c`.

    The readout uses the layer's final states ``h_n`` of its last layer, so it works for any
    input layout (sequence-first, batch-first, unbatched, packed: each sequence is read at its
    own last step). For a bidirectional layer the two directions' final states are
    concatenated: the forward one at step T and the reverse one at step 1.

    Args:
        layer: a recurrent layer with torch.nn's interface (``rnnlib.RNN``, ``torch.nn.LSTM``, ...).
        out_features: size of the output O.

    Shape:
        - input: whatever ``layer`` accepts, e.g. ``(N, L, H_in)`` for a batch-first layer.
        - output: ``(N, out_features)``, or ``(out_features,)`` for unbatched input.

    Example:
        >>> from rnnlib import LSTM
        >>> model = LastStep(LSTM(2, 8, batch_first=True), out_features=1)
        >>> model(torch.zeros(4, 10, 2)).shape
        torch.Size([4, 1])
    """

    def __init__(self, layer: nn.Module, out_features: int = 1) -> None:
        super().__init__()
        self.layer = layer
        self.directions = _directions(layer)
        self.head = nn.Linear(self.directions * layer.hidden_size, out_features)

    def forward(self, input, hx=None) -> Tensor:
        _, h_n = self.layer(input, hx)
        if isinstance(h_n, tuple):  # LSTM: (h_n, c_n)
            h_n = h_n[0]
        last = h_n[-self.directions :]  # (D, N, H): the last layer's final states
        return self.head(torch.cat(list(last), dim=-1))  # (N, out_features)


class EveryStep(nn.Module):
    """Aligned many-to-many: a recurrent layer read out at every step, :math:`O_t = V S_t + c`.

    One output per input step, computed from the state that has read the inputs up to that
    step (and, for a bidirectional layer, also those after it): the n-to-n pattern of the
    first source, used for per-step regression and per-step labelling.

    Args:
        layer: a recurrent layer with torch.nn's interface (``rnnlib.RNN``, ``torch.nn.GRU``, ...).
        out_features: size of each output :math:`O_t`.

    Shape:
        - input: whatever ``layer`` accepts, e.g. ``(N, L, H_in)`` for a batch-first layer.
        - output: the layer's output with its last dimension ``D * H_out`` replaced by
          ``out_features``, e.g. ``(N, L, out_features)``.

    Example:
        >>> from rnnlib import RNN
        >>> model = EveryStep(RNN(1, 8, batch_first=True), out_features=1)
        >>> model(torch.zeros(4, 10, 1)).shape
        torch.Size([4, 10, 1])
    """

    def __init__(self, layer: nn.Module, out_features: int = 1) -> None:
        super().__init__()
        self.layer = layer
        self.head = nn.Linear(_directions(layer) * layer.hidden_size, out_features)

    def forward(self, input, hx=None) -> Tensor:
        output, _ = self.layer(input, hx)
        if isinstance(output, nn.utils.rnn.PackedSequence):
            raise TypeError(
                "expected a padded tensor, got a PackedSequence: unpack the layer's output "
                "(pad_packed_sequence) and apply the head yourself"
            )
        return self.head(output)  # (..., L, out_features)
