"""From symbols to padded batches: a vocabulary, padding with lengths, and masks.

Sequences of different lengths (a word's letters, its phonemes) share a batch by being padded
to the longest one. The padding must then be ignored everywhere: the lengths tell a recurrent
layer where each sequence ends (:func:`rnnlib.nn.pack_padded_sequence`), and the mask
tells a loss or an attention which positions are real.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

__all__ = ["Vocabulary", "lengths_to_mask", "pad_sequences"]


class Vocabulary:
    """A bijection between symbols and integer ids, with special symbols first.

    Args:
        symbols: the ordinary symbols (letters, phonemes, ...). Repeats are kept once, in
            order of first appearance; pass them sorted for an order that does not depend on
            the data's order.
        specials: special symbols given the first ids. The defaults give ``pad_id = 0``,
            ``bos_id = 1`` (start of sequence) and ``eos_id = 2`` (end of sequence).

    Example:
        >>> v = Vocabulary("abc")
        >>> len(v), v.pad_id, v.bos_id, v.eos_id
        (6, 0, 1, 2)
        >>> v.encode("cab", eos=True)
        [5, 3, 4, 2]
        >>> v.decode([1, 5, 3, 4, 2, 0, 0])
        ['c', 'a', 'b']
    """

    def __init__(
        self, symbols: Iterable[str], *, specials: Sequence[str] = ("<pad>", "<s>", "</s>")
    ) -> None:
        if isinstance(specials, str):
            raise TypeError(f"expected specials to be a sequence of strings, got {specials!r}")
        self.specials = tuple(specials)
        if len(set(self.specials)) != len(self.specials):
            raise ValueError(f"expected distinct special symbols, got {self.specials!r}")
        self.symbols: list[str] = list(self.specials)
        self._ids: dict[str, int] = {s: i for i, s in enumerate(self.symbols)}
        for s in symbols:
            if s not in self._ids:
                self._ids[s] = len(self.symbols)
                self.symbols.append(s)
        if len(self.symbols) == len(self.specials):
            raise ValueError("expected at least one ordinary symbol, got none")

    def _special(self, position: int, name: str) -> int:
        if len(self.specials) <= position:
            raise AttributeError(
                f"this vocabulary has no {name} symbol (specials {self.specials!r})"
            )
        return position

    @property
    def pad_id(self) -> int:
        """Id of the padding symbol (the first special)."""
        return self._special(0, "padding")

    @property
    def bos_id(self) -> int:
        """Id of the start-of-sequence symbol (the second special)."""
        return self._special(1, "start-of-sequence")

    @property
    def eos_id(self) -> int:
        """Id of the end-of-sequence symbol (the third special)."""
        return self._special(2, "end-of-sequence")

    def __len__(self) -> int:
        return len(self.symbols)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._ids

    def __repr__(self) -> str:
        return (
            f"Vocabulary({len(self)} symbols: {self.symbols[:8]!r}{'...' if len(self) > 8 else ''})"
        )

    def encode(self, seq: Iterable[str], *, bos: bool = False, eos: bool = False) -> list[int]:
        """Ids of the symbols of ``seq``, optionally framed by ``<s>`` and ``</s>``.

        Raises:
            ValueError: naming the first symbol not in the vocabulary.
        """
        ids = [self.bos_id] if bos else []
        for s in seq:
            try:
                ids.append(self._ids[s])
            except KeyError:
                raise ValueError(
                    f"unknown symbol {s!r}: expected one of the {len(self)} symbols of this "
                    f"vocabulary"
                ) from None
        if eos:
            ids.append(self.eos_id)
        return ids

    def decode(self, ids: Iterable[int] | torch.Tensor, *, strip: bool = True) -> list[str]:
        """Symbols of ``ids``. With ``strip``, stop at the first ``</s>`` and drop
        ``<pad>`` and ``<s>``.

        Raises:
            ValueError: naming an id outside ``[0, len(self))``.
        """
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        out = []
        for i in ids:
            if not 0 <= i < len(self):
                raise ValueError(f"unknown id {i}: expected an id in [0, {len(self)})")
            if strip and len(self.specials) > 2 and i == self.eos_id:
                break
            if strip and i in (0, 1)[: len(self.specials)]:
                continue
            out.append(self.symbols[i])
        return out


def pad_sequences(
    seqs: Sequence[Sequence[int]], pad_id: int = 0, *, max_len: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad sequences of ids to a ``(N, L)`` tensor, with their lengths.

    Args:
        seqs: ``N`` non-empty sequences of integer ids.
        pad_id: the id written after each sequence's end.
        max_len: ``L``; default the longest length. Longer sequences raise a ValueError.

    Shape:
        - padded: ``(N, L)``, ``torch.long``, batch first.
        - lengths: ``(N,)``, ``torch.long``.

    Returns:
        ``(padded, lengths)``.

    Example:
        >>> x, n = pad_sequences([[5, 6, 7], [8]])
        >>> x
        tensor([[5, 6, 7],
                [8, 0, 0]])
        >>> n
        tensor([3, 1])
    """
    if len(seqs) == 0:
        raise ValueError("expected at least one sequence, got none")
    lengths = [len(s) for s in seqs]
    if min(lengths) == 0:
        raise ValueError(
            f"expected non-empty sequences, got an empty one at index {lengths.index(0)}"
        )
    longest = max(lengths)
    if max_len is None:
        max_len = longest
    elif longest > max_len:
        raise ValueError(
            f"expected sequences of at most max_len={max_len} ids, got one of "
            f"{longest} at index {lengths.index(longest)}"
        )
    rows = [list(s) + [pad_id] * (max_len - n) for s, n in zip(seqs, lengths, strict=True)]
    return torch.tensor(rows, dtype=torch.long), torch.tensor(lengths, dtype=torch.long)


def lengths_to_mask(
    lengths: torch.Tensor | Sequence[int], max_len: int | None = None
) -> torch.Tensor:
    """Boolean mask, ``True`` at the real (non-padding) positions.

    Args:
        lengths: ``(N,)`` lengths, each in ``[1, L]``.
        max_len: ``L``; default the largest length.

    Shape:
        ``(N, L)``, on the device of ``lengths``.

    Example:
        >>> lengths_to_mask(torch.tensor([3, 1]))
        tensor([[ True,  True,  True],
                [ True, False, False]])
    """
    lengths = torch.as_tensor(lengths)
    if lengths.dim() != 1 or lengths.numel() == 0:
        raise ValueError(f"expected lengths of shape (N,) with N >= 1, got {tuple(lengths.shape)}")
    if max_len is None:
        max_len = int(lengths.max())
    if int(lengths.min()) < 1 or int(lengths.max()) > max_len:
        raise ValueError(f"expected lengths in [1, {max_len}], got {lengths.tolist()}")
    positions = torch.arange(max_len, device=lengths.device)
    return positions[None, :] < lengths[:, None]
