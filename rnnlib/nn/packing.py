"""Packing a padded batch of variable-length sequences, with the lengths checked first."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor
from torch.nn.utils.rnn import PackedSequence
from torch.nn.utils.rnn import pack_padded_sequence as _torch_pack

from rnnlib.nn import _checks

__all__ = ["pack_padded_sequence"]


def pack_padded_sequence(
    input: Tensor,
    lengths: Tensor | Sequence[int],
    batch_first: bool = False,
    enforce_sorted: bool = True,
) -> PackedSequence:
    """:func:`torch.nn.utils.rnn.pack_padded_sequence`, with the lengths checked first.

    torch accepts lengths longer than the padded length or a wrong number of them without a
    word; this raises a ValueError naming the expected and received values instead.

    Args:
        input: padded batch ``(L, N, *)``, or ``(N, L, *)`` with ``batch_first=True``.
        lengths: one length per sequence, integers in ``[1, L]``.
        batch_first: layout of ``input``.
        enforce_sorted: require lengths in decreasing order (as torch).

    Returns:
        The PackedSequence, exactly as torch's function returns it.

    Example:
        >>> import torch
        >>> pack_padded_sequence(torch.zeros(4, 2, 3), [4, 2]).batch_sizes
        tensor([2, 2, 1, 1])
    """
    if not isinstance(input, Tensor) or input.dim() < 2:
        got = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"expected a padded batch (L, N, *) or (N, L, *), got {got}")
    length, n = input.shape[:2] if not batch_first else input.shape[:2][::-1]
    lengths = _checks.check_lengths(lengths, n, length)
    return _torch_pack(input, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
