"""The 8 x 8 handwritten digits that ship with scikit-learn, as images, row sequences and words.

scikit-learn's ``load_digits`` holds 1797 images of the digits 0-9, 8 x 8 pixels with grey
levels 0..16, taken from the UCI "optical recognition of handwritten digits" data set. Nothing
is downloaded: the file is part of the scikit-learn package.

An image read row by row is a sequence of ``L = 8`` steps with ``H_in = 8`` inputs each, which
is how a recurrent network sees it (the task of the sources' MNIST example, at 8 x 8 instead
of 28 x 28). The English word of a digit ("seven") is a sequence of letters, the target of the
one-to-many "image to text" task.

All functions return CPU tensors; move them with ``.to(device)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

#: The English word of each digit class, index = class.
WORDS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
)
#: Token 0 ends a word (and pads it); tokens 1.. are the letters that occur in :data:`WORDS`.
END = "."
LETTERS: tuple[str, ...] = (END, *sorted(set("".join(WORDS))))
#: The number of steps of the letter targets, the longest word plus its end token.
WORD_STEPS = max(len(w) for w in WORDS) + 1


@dataclass(frozen=True)
class Split:
    """One part of the data: images ``(n, 8, 8)`` in [0, 1] and labels ``(n,)``."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


def load() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1797 images and their labels.

    Shape:
        - images: ``(1797, 8, 8)``, float32, grey levels scaled from 0..16 to [0, 1].
        - labels: ``(1797,)``, int64, the digit 0..9.

    Example:
        >>> images, labels = load()
        >>> images.shape, labels.shape, float(images.max())
        (torch.Size([1797, 8, 8]), torch.Size([1797]), 1.0)
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32) / 16.0  # (1797, 8, 8)
    labels = torch.as_tensor(bunch.target, dtype=torch.int64)
    return images, labels


def splits(
    fractions: Sequence[float] = (0.6, 0.2, 0.2), seed: int = 0
) -> tuple[Split, Split, Split]:
    """Train, validation and test parts, stratified by class, without overlap.

    Args:
        fractions: shares of train, validation and test; positive, summing to 1.
        seed: seed of the shuffle (scikit-learn's ``train_test_split``).

    Returns:
        ``(train, valid, test)``, three :class:`Split`.

    Example:
        >>> train, valid, test = splits()
        >>> len(train), len(valid), len(test)
        (1077, 360, 360)
    """
    from sklearn.model_selection import train_test_split

    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(
            "expected three positive fractions (train, valid, test) summing to 1, "
            f"got {fractions!r}"
        )
    images, labels = load()
    index = torch.arange(len(labels)).numpy()
    rest, test = train_test_split(
        index, test_size=fractions[2], stratify=labels.numpy(), random_state=seed
    )
    train, valid = train_test_split(
        rest, test_size=fractions[1] / (fractions[0] + fractions[1]),
        stratify=labels.numpy()[rest], random_state=seed,
    )
    return tuple(  # type: ignore[return-value]
        Split(images[torch.as_tensor(i)], labels[torch.as_tensor(i)]) for i in (train, valid, test)
    )


def as_rows(images: torch.Tensor) -> torch.Tensor:
    """Images as sequences of their rows, batch first: step ``t`` is row ``t``.

    Shape:
        - images: ``(N, height, width)``.
        - output: ``(N, L, H_in)`` with ``L = height`` and ``H_in = width`` (a view).

    Example:
        >>> as_rows(torch.zeros(5, 8, 8)).shape
        torch.Size([5, 8, 8])
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 3:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"expected images of shape (N, height, width), got {shape}")
    return images


def encode_words(labels: torch.Tensor) -> torch.Tensor:
    """The letters of each label's word as token ids, ended and padded by the end token 0.

    Shape:
        - labels: ``(N,)`` digits 0..9.
        - output: ``(N, WORD_STEPS)``, int64.

    Example:
        >>> encode_words(torch.tensor([7, 1]))
        tensor([[ 9,  1, 12,  1,  6,  0],
                [ 7,  6,  1,  0,  0,  0]])
    """
    labels = torch.as_tensor(labels)
    if labels.dim() != 1 or labels.numel() == 0:
        raise ValueError(
            f"expected a non-empty 1-D tensor of labels, got shape {tuple(labels.shape)}"
        )
    if labels.min() < 0 or labels.max() >= len(WORDS):
        raise ValueError(f"expected labels in 0..{len(WORDS) - 1}, got {labels.unique().tolist()}")
    ids = torch.zeros(len(labels), WORD_STEPS, dtype=torch.int64)
    for n, label in enumerate(labels.tolist()):
        word = [LETTERS.index(ch) for ch in WORDS[label]]
        ids[n, : len(word)] = torch.tensor(word)
    return ids


def decode_words(ids: torch.Tensor) -> list[str]:
    """Token ids back to strings, each cut at its first end token.

    Shape:
        - ids: ``(N, steps)``, int.

    Example:
        >>> decode_words(encode_words(torch.tensor([3, 0])))
        ['three', 'zero']
    """
    ids = torch.as_tensor(ids)
    if ids.dim() != 2:
        raise ValueError(f"expected token ids of shape (N, steps), got {tuple(ids.shape)}")
    if ids.numel() and (ids.min() < 0 or ids.max() >= len(LETTERS)):
        raise ValueError(
            f"expected token ids in 0..{len(LETTERS) - 1}, got {ids.unique().tolist()}"
        )
    words = []
    for row in ids.tolist():
        end = row.index(0) if 0 in row else len(row)
        words.append("".join(LETTERS[i] for i in row[:end]))
    return words
