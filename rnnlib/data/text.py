"""Real text that ships with Python, and the per-character labels of word segmentation.

The corpus is the documentation that Python's own ``help()`` shows, stored in the standard
library module :mod:`pydoc_data.topics`, so nothing is downloaded. :func:`pydoc_text` reduces it
to lower-case words separated by single spaces. Word segmentation, the task that written Chinese
poses (分词), is then simulated on English: :func:`boundary_labels` removes the spaces and marks
every character that ends a word, and :func:`restore_spaces` puts the spaces back from such
marks::

    text    "the assert statement"
    chars   "theassertstatement"
    labels   001000001000000001

The characters are encoded with :class:`rnnlib.data.batching.Vocabulary`
(:func:`char_vocabulary`). :func:`contiguous_split` cuts a corpus into train, validation and
test blocks, :func:`windows` cuts a block into equal training sequences, and
:func:`delay_targets` lets a unidirectional network answer a few steps late, after it has seen
some right context (:func:`multi_delay_targets`: several delays at once, one read-out each).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Sequence
from typing import TypeVar

import torch

from rnnlib.data.batching import Vocabulary

__all__ = [
    "boundary_labels",
    "char_vocabulary",
    "contiguous_split",
    "delay_targets",
    "multi_delay_targets",
    "pydoc_text",
    "restore_spaces",
    "windows",
]

_UNDERLINE = re.compile(r"[*=\-~^#]+")
_APOSTROPHE = re.compile(r"(?<=[a-z])['\u2019](?=[a-z])")
_WORD = re.compile(r"[a-z]+")

T = TypeVar("T")


@functools.lru_cache(maxsize=2)
def pydoc_text(*, prose_only: bool = True) -> str:
    """The text of Python's ``help()`` topics, as lower-case words separated by single spaces.

    The topics of :mod:`pydoc_data.topics` are read in sorted order. With ``prose_only``, lines
    that are indented (code examples, grammar rules) or that only underline a heading are
    dropped. The rest is lower-cased, apostrophes inside words are removed (``object's`` becomes
    ``objects``), and every maximal run of the letters a-z is a word; digits, punctuation and
    other symbols separate words and are dropped. The exact text depends on the Python version,
    whose documentation it is.

    Args:
        prose_only: drop indented and underline lines (default), or keep every line.

    Returns:
        A string of words ``[a-z]+`` joined by single spaces.

    Example:
        >>> text = pydoc_text()
        >>> text[:20]
        'the assert statement'
        >>> set(text) <= set("abcdefghijklmnopqrstuvwxyz ")
        True
    """
    from pydoc_data.topics import topics  # standard library; imported lazily

    lines = []
    for key in sorted(topics):
        for line in topics[key].splitlines():
            if prose_only and (not line.strip() or line[0].isspace() or _UNDERLINE.fullmatch(line)):
                continue
            lines.append(line)
    text = _APOSTROPHE.sub("", " ".join(lines).lower())
    return " ".join(_WORD.findall(text))


def boundary_labels(text: str) -> tuple[str, list[int]]:
    """Remove the spaces of ``text`` and mark each character that ends a word.

    For the characters :math:`c_1 \\dots c_n` left after removing the spaces, the label is

    .. math:: y_t = 1 \\text{ if a word ends at } c_t \\text{ (a space or the end followed it)},
        \\quad y_t = 0 \\text{ otherwise}.

    Args:
        text: words separated by single spaces, no space at either end, no other whitespace.

    Returns:
        ``(chars, labels)``: the text without spaces, and one label (0 or 1) per character.

    Raises:
        ValueError: for an empty text, other whitespace, or spaces that are not single spaces
            between words (the message says where).

    Example:
        >>> chars, labels = boundary_labels("the assert statement")
        >>> chars
        'theassertstatement'
        >>> "".join(map(str, labels))
        '001000001000000001'
    """
    if not isinstance(text, str):
        raise TypeError(f"expected text to be a str, got {type(text).__name__}")
    if not text:
        raise ValueError("expected a non-empty text, got ''")
    other = re.search(r"[^\S ]", text)
    if other:
        raise ValueError(
            f"expected words separated by single spaces, got the whitespace {other.group()!r} "
            f"at index {other.start()}"
        )
    bad = re.search(r"^ | $|  ", text)
    if bad:
        raise ValueError(
            f"expected single spaces between words and none at either end, got a space at "
            f"index {bad.start()} of {len(text)} characters"
        )
    words = text.split(" ")
    labels = [int(i == len(w) - 1) for w in words for i in range(len(w))]
    return "".join(words), labels


def restore_spaces(chars: str, labels: Iterable[int] | torch.Tensor) -> str:
    """Put the spaces back into ``chars``: one after every character labelled 1 but the last.

    The inverse of :func:`boundary_labels` when the labels are right; with predicted labels it
    shows how a segmenter reads the text.

    Args:
        chars: the text without spaces.
        labels: one 0 or 1 per character (a list, or a tensor of shape ``(len(chars),)``).

    Returns:
        The text with spaces.

    Raises:
        ValueError: if the lengths differ or a label is neither 0 nor 1.

    Example:
        >>> restore_spaces("theassertstatement", [0, 0, 1] + [0] * 5 + [1] + [0] * 8 + [1])
        'the assert statement'
    """
    if isinstance(labels, torch.Tensor):
        if labels.dim() != 1:
            raise ValueError(f"expected labels of shape (n,), got {tuple(labels.shape)}")
        labels = labels.tolist()
    labels = list(labels)
    if len(labels) != len(chars):
        raise ValueError(
            f"expected one label per character, got {len(labels)} labels for {len(chars)} "
            "characters"
        )
    out = []
    for i, (c, y) in enumerate(zip(chars, labels, strict=True)):
        if y not in (0, 1):
            raise ValueError(f"expected labels 0 or 1, got {y!r} at index {i}")
        out.append(c + " " if y == 1 and i < len(chars) - 1 else c)
    return "".join(out)


def char_vocabulary(chars: Iterable[str]) -> Vocabulary:
    """A :class:`~rnnlib.data.batching.Vocabulary` of the distinct characters, sorted.

    The vocabulary has one special symbol, ``<pad>`` with id 0 (what :func:`delay_targets`
    appends); the characters get ids 1, 2, ... in sorted order, so the ids do not depend on
    which characters come first.

    Args:
        chars: any iterable of characters, e.g. a string.

    Returns:
        The vocabulary.

    Example:
        >>> v = char_vocabulary("banana")
        >>> v.symbols, v.pad_id, v.encode("nab")
        (['<pad>', 'a', 'b', 'n'], 0, [3, 1, 2])
    """
    return Vocabulary(sorted(set(chars)), specials=("<pad>",))


def contiguous_split(
    seq: Sequence[T], fractions: Sequence[float] = (0.8, 0.1, 0.1)
) -> tuple[Sequence[T], ...]:
    """Cut ``seq`` into consecutive blocks of the given fractions, in order.

    Neighbouring characters of a text are not independent, so a random split of positions
    would leak the test text into training; consecutive blocks do not (except at the block
    edges). The blocks are slices, so a string gives strings and a tensor gives views.

    Args:
        seq: anything that has a length and can be sliced (str, list, tensor).
        fractions: positive numbers summing to 1, one per block.

    Returns:
        One slice of ``seq`` per fraction; together they are ``seq``.

    Raises:
        ValueError: if the fractions are not positive, do not sum to 1, or would give an
            empty block.

    Example:
        >>> contiguous_split("abcdefghij", (0.6, 0.2, 0.2))
        ('abcdef', 'gh', 'ij')
    """
    fractions = tuple(float(f) for f in fractions)
    if not fractions or min(fractions) <= 0 or not math.isclose(sum(fractions), 1.0):
        raise ValueError(f"expected positive fractions summing to 1, got {fractions}")
    n = len(seq)
    ends = [round(n * sum(fractions[: i + 1])) for i in range(len(fractions))]
    starts = [0, *ends[:-1]]
    if any(e <= s for s, e in zip(starts, ends, strict=True)):
        raise ValueError(
            f"a sequence of length {n} is too short for {len(fractions)} non-empty blocks with "
            f"fractions {fractions}"
        )
    return tuple(seq[s:e] for s, e in zip(starts, ends, strict=True))


def windows(x: torch.Tensor, length: int) -> torch.Tensor:
    """Cut a 1-D tensor into consecutive, non-overlapping windows of ``length``.

    The ``len(x) % length`` items at the end that do not fill a window are dropped.

    Args:
        x: a tensor of shape ``(n,)``.
        length: the window length L, at most n.

    Shape:
        ``(n // L, L)``: one window per row, batch first.

    Example:
        >>> windows(torch.arange(7), 3)
        tensor([[0, 1, 2],
                [3, 4, 5]])
    """
    if not isinstance(x, torch.Tensor) or x.dim() != 1:
        raise ValueError(f"expected a tensor of shape (n,), got {getattr(x, 'shape', type(x))}")
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= len(x):
        raise ValueError(f"expected an int length in [1, {len(x)}], got {length!r}")
    n = len(x) // length
    return x[: n * length].reshape(n, length)


def delay_targets(
    x: torch.Tensor, y: torch.Tensor, steps: int, *, pad_id: int = 0, ignore_index: int = -100
) -> tuple[torch.Tensor, torch.Tensor]:
    """Let a network answer ``steps`` steps late: the output at step t is scored on label t - d.

    The inputs get ``d = steps`` padding ids appended and the labels ``d`` ignored positions
    prepended, so inputs and labels keep one length, :math:`L + d`, and every label is scored
    once. A unidirectional network that labels character :math:`t` at step :math:`t + d` has
    read :math:`d` characters of right context. With ``steps = 0`` nothing changes.

    Args:
        x: input ids, ``(L,)`` or ``(N, L)``.
        y: labels of the same shape.
        steps: the delay d >= 0.
        pad_id: the id appended to the inputs.
        ignore_index: the label prepended, which the loss must ignore (PyTorch's default of
            :func:`torch.nn.functional.cross_entropy`).

    Shape:
        ``(L + d,)`` or ``(N, L + d)`` for both.

    Returns:
        ``(x_delayed, y_delayed)``.

    Example:
        >>> x, y = delay_targets(torch.tensor([5, 6, 7]), torch.tensor([0, 1, 1]), 2)
        >>> x.tolist(), y.tolist()
        ([5, 6, 7, 0, 0], [-100, -100, 0, 1, 1])
    """
    if x.shape != y.shape or x.dim() not in (1, 2):
        raise ValueError(
            f"expected inputs and labels of one shape, (L,) or (N, L), got {tuple(x.shape)} "
            f"and {tuple(y.shape)}"
        )
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"expected an int steps >= 0, got {steps!r}")
    pad_shape = (*x.shape[:-1], steps)
    x = torch.cat([x, x.new_full(pad_shape, pad_id)], dim=-1)
    y = torch.cat([y.new_full(pad_shape, ignore_index), y], dim=-1)
    return x, y


def multi_delay_targets(
    x: torch.Tensor, y: torch.Tensor, max_steps: int, *, pad_id: int = 0, ignore_index: int = -100
) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels for read-outs with every delay d = 0, ..., ``max_steps`` at once.

    As :func:`delay_targets` with ``steps = max_steps`` for the inputs; the labels get a last
    dimension with one column per delay: column d holds label :math:`t - d` at step :math:`t`,
    and ``ignore_index`` where :math:`t - d` is outside the sequence. A network with
    ``max_steps + 1`` read-outs trained on them answers for the current character and for each
    of the ``max_steps`` characters before it.

    Args:
        x: input ids, ``(L,)`` or ``(N, L)``.
        y: labels of the same shape.
        max_steps: the largest delay D >= 0.
        pad_id: the id appended to the inputs.
        ignore_index: the label of positions without one.

    Shape:
        - x_delayed: ``(L + D,)`` or ``(N, L + D)``.
        - y_delayed: ``(L + D, D + 1)`` or ``(N, L + D, D + 1)``.

    Returns:
        ``(x_delayed, y_delayed)``.

    Example:
        >>> x, y = multi_delay_targets(torch.tensor([5, 6]), torch.tensor([0, 1]), 1)
        >>> x.tolist(), y.tolist()
        ([5, 6, 0], [[0, -100], [1, 0], [-100, 1]])
    """
    x_delayed, _ = delay_targets(x, y, max_steps, pad_id=pad_id, ignore_index=ignore_index)
    columns = []
    for d in range(max_steps + 1):
        _, y_d = delay_targets(x, y, d, pad_id=pad_id, ignore_index=ignore_index)
        tail = y_d.new_full((*y.shape[:-1], max_steps - d), ignore_index)
        columns.append(torch.cat([y_d, tail], dim=-1))  # (..., L + D)
    return x_delayed, torch.stack(columns, dim=-1)  # (..., L + D, D + 1)
