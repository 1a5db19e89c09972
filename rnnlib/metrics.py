"""Error rates of sequence outputs: edit distance, phoneme (token) error rate, word error rate.

For grapheme-to-phoneme conversion (chapter 09) the conventions of Yao & Zweig (2015) hold:
the phoneme error rate (PER) is the edit distance between predicted and reference phonemes,
summed over words and divided by the number of reference phonemes; the word error rate (WER)
is the share of words whose predicted pronunciation is not exactly the reference.
(In speech recognition, "word error rate" is instead the edit distance counted in words;
that is :func:`token_error_rate` applied to word sequences.)
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

__all__ = ["edit_distance", "phoneme_error_rate", "token_error_rate", "word_error_rate"]


def edit_distance(reference: Sequence[Hashable], hypothesis: Sequence[Hashable]) -> int:
    """Levenshtein distance: the fewest substitutions, insertions and deletions that turn
    ``hypothesis`` into ``reference``.

    Computed by dynamic programming, one row at a time, in ``O(len(ref) * len(hyp))``.

    Args:
        reference: the true sequence (any hashable items: phonemes, letters, words).
        hypothesis: the predicted sequence.

    Returns:
        The distance, an int between ``|len(ref) - len(hyp)|`` and ``max(len(ref), len(hyp))``.

    Example:
        >>> edit_distance("kitten", "sitting")
        3
        >>> edit_distance(["HH", "AH0", "L", "OW1"], ["HH", "EH0", "L", "OW1"])
        1
    """
    if isinstance(reference, (set, dict)) or isinstance(hypothesis, (set, dict)):
        raise TypeError("expected ordered sequences, got a set or dict")
    ref, hyp = list(reference), list(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, start=1):
            current[j] = min(
                previous[j] + 1,  # deletion of r
                current[j - 1] + 1,  # insertion of h
                previous[j - 1] + (r != h),  # substitution (or match)
            )
        previous = current
    return previous[-1]


def _check_pairs(references: Sequence, hypotheses: Sequence) -> None:
    if len(references) != len(hypotheses):
        raise ValueError(
            f"expected as many hypotheses as references, got {len(hypotheses)} hypotheses "
            f"for {len(references)} references"
        )
    if len(references) == 0:
        raise ValueError("expected at least one reference, got none")


def token_error_rate(
    references: Sequence[Sequence[Hashable]], hypotheses: Sequence[Sequence[Hashable]]
) -> float:
    """Total edit distance divided by the total length of the references.

    Args:
        references: one true sequence per item.
        hypotheses: one predicted sequence per item, in the same order.

    Returns:
        The rate (0 is perfect; it can exceed 1 when hypotheses are much too long).

    Example:
        >>> token_error_rate([["a", "b"], ["c", "d", "e"]], [["a", "x"], ["c", "d", "e"]])
        0.2
    """
    _check_pairs(references, hypotheses)
    total = sum(len(r) for r in references)
    if total == 0:
        raise ValueError("expected references with at least one token in total, got none")
    errors = sum(edit_distance(r, h) for r, h in zip(references, hypotheses, strict=True))
    return errors / total


def phoneme_error_rate(
    references: Sequence[Sequence[str]], hypotheses: Sequence[Sequence[str]]
) -> float:
    """Phoneme error rate (PER): :func:`token_error_rate` over phoneme sequences.

    Example:
        >>> phoneme_error_rate([("K", "AE1", "T")], [("K", "AH0", "T")])
        0.3333333333333333
    """
    return token_error_rate(references, hypotheses)


def word_error_rate(
    references: Sequence[Sequence[Hashable]], hypotheses: Sequence[Sequence[Hashable]]
) -> float:
    """Word error rate of G2P (WER): the share of items whose hypothesis is not exactly
    the reference.

    Example:
        >>> word_error_rate([("K", "AE1", "T"), ("D", "AO1", "G")], [("K", "AE1", "T"), ("D",)])
        0.5
    """
    _check_pairs(references, hypotheses)
    wrong = sum(list(r) != list(h) for r, h in zip(references, hypotheses, strict=True))
    return wrong / len(references)
