"""Generated sequence tasks: each one isolates a single thing a recurrent network must learn.

All generators take an optional :class:`torch.Generator` so that a chapter can draw the same
data twice, and return CPU tensors (move them with ``.to(device)``).
"""

from __future__ import annotations

import torch

#: The test MSE of always answering 1.0 on the adding problem, which is the variance of a sum
#: of two independent uniform(0, 1) numbers, 2 * 1/12 = 1/6 ≈ 0.167. A model that sees the
#: numbers but not the markers can do only a little better: its best guess, the sum of the
#: two halves' means, scores (1/6)(1 - 2/L), 0.163 at L = 100 (chapter 04 measures both).
ADDING_BASELINE_MSE = 1.0 / 6.0


def _check_positive_int(name: str, value: object, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected {name} to be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"expected {name} >= {minimum}, got {value}")


def adding_problem(
    n: int,
    length: int,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The adding problem as in Le et al. (2015), a variant of Hochreiter & Schmidhuber (1997).

    Each sequence has two channels. Channel 0 holds numbers drawn uniformly from [0, 1);
    channel 1 is zero except at two positions, one in the first half and one in the second
    half of the sequence, where it is 1. The target is the sum of the two marked numbers,

    .. math:: y = \\sum_t x_{t,0} \\, x_{t,1}.

    To answer, a network must remember the first marked number across up to ``length`` steps.
    A network that ignores the markers can do little better than answering the mean, 1.0, with
    mean squared error :data:`ADDING_BASELINE_MSE` = 1/6 (at best (1/6)(1 - 2/L), by
    averaging each half).

    Args:
        n: number of sequences.
        length: sequence length L (at least 2).
        generator: optional random generator, for reproducible draws.
        dtype: floating point type of the returned tensors.

    Shape:
        - x: ``(n, L, 2)``, batch first.
        - y: ``(n, 1)``.

    Returns:
        ``(x, y)``.

    Example:
        >>> x, y = adding_problem(4, 10, generator=torch.Generator().manual_seed(0))
        >>> x.shape, y.shape
        (torch.Size([4, 10, 2]), torch.Size([4, 1]))
        >>> bool(torch.allclose((x[..., 0] * x[..., 1]).sum(1, keepdim=True), y))
        True
    """
    _check_positive_int("n", n)
    _check_positive_int("length", length, minimum=2)
    values = torch.rand(n, length, generator=generator, dtype=dtype)
    half = length // 2
    first = torch.randint(0, half, (n,), generator=generator)
    second = torch.randint(half, length, (n,), generator=generator)
    markers = torch.zeros(n, length, dtype=dtype)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=-1)  # (n, L, 2)
    y = (values * markers).sum(dim=1, keepdim=True)  # (n, 1)
    return x, y


def recall_task(
    n: int,
    length: int,
    delay: int,
    *,
    num_symbols: int = 8,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """"What came ``delay`` steps ago?": a task whose answer lies only in the past.

    Each sequence is a string of symbols drawn uniformly from ``0 .. num_symbols - 1``. At step
    ``t`` the target is the symbol seen at step ``t - delay``,

    .. math:: y_t = x_{t - k}, \\quad k = \\text{delay}.

    The current input :math:`x_t` is independent of the target, so a model that sees only
    :math:`x_t` is right with probability ``1 / num_symbols`` at best; a model with memory can
    be right every time. The first ``delay`` steps have no answer and carry the target -100,
    which :func:`torch.nn.functional.cross_entropy` ignores by default.

    Args:
        n: number of sequences.
        length: sequence length L; must exceed ``delay``.
        delay: how far back the answer lies (k >= 1).
        num_symbols: size of the alphabet (at least 2).
        generator: optional random generator, for reproducible draws.

    Shape:
        - x: ``(n, L)`` int64 symbols.
        - y: ``(n, L)`` int64 targets, -100 where there is none.

    Returns:
        ``(x, y)``.

    Example:
        >>> x, y = recall_task(2, 6, delay=2, generator=torch.Generator().manual_seed(0))
        >>> bool((y[:, 2:] == x[:, :-2]).all()), y[:, :2].tolist()
        (True, [[-100, -100], [-100, -100]])
    """
    _check_positive_int("n", n)
    _check_positive_int("delay", delay)
    _check_positive_int("num_symbols", num_symbols, minimum=2)
    _check_positive_int("length", length)
    if length <= delay:
        raise ValueError(f"expected length > delay, got length={length} and delay={delay}")
    x = torch.randint(0, num_symbols, (n, length), generator=generator)
    y = torch.full_like(x, -100)
    y[:, delay:] = x[:, :-delay]
    return x, y
