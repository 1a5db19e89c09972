r"""Choosing the learning rate: the learning-rate range test.

Train for a few hundred updates while the learning rate grows exponentially from ``lr_min`` to
``lr_max`` (Smith 2017, "Cyclical learning rates for training neural networks"), one
mini-batch per rate:

.. math::

    \eta_i = \eta_\text{min} \left(\frac{\eta_\text{max}}{\eta_\text{min}}\right)^{i/(n-1)},
    \qquad i = 0, \dots, n - 1 .

At first the rate is too small to change anything and the loss stays flat; then it falls; at
some rate the updates overshoot and the loss climbs. Single-batch losses are noisy, so they are
smoothed by an exponential moving average with bias correction (as Adam corrects its moments),

.. math::

    m_i = \beta m_{i-1} + (1 - \beta) \ell_i, \quad m_{-1} = 0, \qquad
    \bar\ell_i = \frac{m_i}{1 - \beta^{i+1}} .

**The rule**: the suggested learning rate is the rate at which the smoothed loss was lowest,
divided by ten. At the minimum the loss is about to diverge, so the rate there is too high to
train with; one order of magnitude below it the loss was still falling fast. The test stops
early once the smoothed loss exceeds ``divergence`` times its minimum, or a loss is not finite.

The model and its optimiser state are put back afterwards (``restore=True``), so the test can
be run on the model that is then trained.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from rnnlib.train import FitConfig, LossFn, _check_training_inputs, _model_device

__all__ = ["LRRangeTest", "lr_range_test", "smooth_losses", "suggest_lr"]

RULE = "the learning rate of the lowest smoothed loss, divided by 10"


@dataclass
class LRRangeTest:
    """The result of :func:`lr_range_test`.

    Attributes:
        lrs: the learning rate of each update done.
        losses: the loss of each update's mini-batch, before the update.
        smoothed: the bias-corrected moving average of ``losses``.
        lr_at_min: the learning rate at the lowest smoothed loss.
        suggested_lr: ``lr_at_min / factor``, the rule of ``RULE``.
        stopped_early: whether the loss diverged before the last planned rate.
        rule: the rule, in words.
    """

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    lr_at_min: float
    suggested_lr: float
    stopped_early: bool
    rule: str = RULE


def smooth_losses(losses: Sequence[float], beta: float = 0.98) -> list[float]:
    """Exponential moving average of ``losses`` with bias correction.

    :math:`m_i = \\beta m_{i-1} + (1-\\beta)\\ell_i` from :math:`m_{-1} = 0`, reported as
    :math:`m_i / (1 - \\beta^{i+1})`, so that the first value is the first loss itself and a
    constant sequence stays constant.

    Args:
        losses: the losses, in order.
        beta: weight of the past, in ``[0, 1)``; ``0`` returns the losses unchanged.

    Example:
        >>> smooth_losses([1.0, 1.0, 1.0], beta=0.9)
        [1.0, 1.0, 1.0]
        >>> [round(v, 4) for v in smooth_losses([2.0, 0.0], beta=0.5)]
        [2.0, 0.6667]
    """
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not 0 <= beta < 1:
        raise ValueError(f"expected beta in [0, 1), got {beta!r}")
    out, m = [], 0.0
    for i, loss in enumerate(losses):
        m = beta * m + (1 - beta) * float(loss)
        out.append(m / (1 - beta ** (i + 1)))
    return out


def suggest_lr(
    lrs: Sequence[float], smoothed: Sequence[float], factor: float = 10.0
) -> tuple[float, float]:
    """Apply the rule: ``(lr at the lowest smoothed loss, that lr / factor)``.

    Non-finite smoothed losses are ignored.

    Example:
        >>> suggest_lr([1e-3, 1e-2, 1e-1, 1.0], [2.0, 1.5, 1.0, 3.0])
        (0.1, 0.01)
    """
    if len(lrs) != len(smoothed) or len(lrs) == 0:
        raise ValueError(
            f"expected as many learning rates as losses, at least one, got {len(lrs)} and "
            f"{len(smoothed)}"
        )
    if not factor >= 1:
        raise ValueError(f"expected factor >= 1, got {factor!r}")
    finite = [(s, i) for i, s in enumerate(smoothed) if math.isfinite(s)]
    if not finite:
        raise ValueError("every smoothed loss is nan or inf: lower lr_min")
    best = min(finite)[1]
    return float(lrs[best]), float(lrs[best]) / factor


def lr_range_test(
    model: nn.Module,
    loss_fn: LossFn,
    train: Sequence[torch.Tensor],
    config: FitConfig = FitConfig(),  # noqa: B008 (frozen, so a shared default is safe)
    *,
    lr_min: float = 1e-6,
    lr_max: float = 1.0,
    steps: int = 200,
    beta: float = 0.98,
    divergence: float = 4.0,
    factor: float = 10.0,
    restore: bool = True,
) -> LRRangeTest:
    """Run the learning-rate range test and suggest a learning rate (see the module's rule).

    The optimiser, its momentum and weight decay, the batch size, gradient clipping and the
    shuffling seed are those of ``config``, so that the suggestion is for the training run that
    follows with the same config; ``config.lr`` and ``config.epochs`` are ignored. Batches cycle
    through ``train``, reshuffled after each pass.

    Args:
        model: the model; restored afterwards unless ``restore=False``.
        loss_fn: ``loss_fn(model, *batch) -> scalar tensor``, as for :func:`rnnlib.fit`.
        train: tensors with equal first dimension, e.g. ``(x, y)``.
        config: a :class:`~rnnlib.train.FitConfig`.
        lr_min: the first learning rate.
        lr_max: the last learning rate, ``> lr_min``.
        steps: the number of updates (and rates) planned, at least 2.
        beta: smoothing of the losses, in ``[0, 1)``.
        divergence: stop once the smoothed loss exceeds this many times its minimum (``> 1``).
        factor: the suggestion is the rate at the minimum divided by this.
        restore: put the model's parameters and buffers back afterwards.

    Returns:
        An :class:`LRRangeTest`.

    Example:
        >>> _ = torch.manual_seed(0); x = torch.randn(256, 3)
        >>> y = x.sum(1, keepdim=True) + 0.5 * torch.randn(256, 1)
        >>> model = nn.Linear(3, 1)
        >>> mse = lambda m, x, y: ((m(x) - y) ** 2).mean()
        >>> result = lr_range_test(model, mse, (x, y), FitConfig(optimizer="sgd"), lr_max=10.0)
        >>> result.stopped_early  # plain SGD on this loss diverges for lr above about 1
        True
        >>> 0.05 < result.suggested_lr < 0.5
        True
    """
    tensors = _check_training_inputs(model, config, train)
    if not (isinstance(lr_min, (int, float)) and isinstance(lr_max, (int, float))) or not (
        0 < lr_min < lr_max
    ):
        raise ValueError(f"expected 0 < lr_min < lr_max, got lr_min={lr_min!r}, lr_max={lr_max!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"expected steps to be an int >= 2, got {steps!r}")
    if not divergence > 1:
        raise ValueError(f"expected divergence > 1, got {divergence!r}")
    if not factor >= 1:
        raise ValueError(f"expected factor >= 1, got {factor!r}")
    smooth_losses([], beta)  # validates beta
    saved = {k: v.detach().clone() for k, v in model.state_dict().items()} if restore else None
    was_training = model.training

    device = _model_device(model)
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        opt = torch.optim.Adam(params, lr=lr_min, weight_decay=config.weight_decay)
    else:
        opt = torch.optim.SGD(
            params, lr=lr_min, momentum=config.momentum, weight_decay=config.weight_decay
        )
    shuffler = torch.Generator().manual_seed(config.seed if config.seed is not None else 0)
    n = tensors[0].shape[0]
    ratio = lr_max / lr_min
    lrs, losses, smoothed = [], [], []
    m, best, stopped_early = 0.0, math.inf, False
    order, position = None, n
    model.train()
    try:
        for i in range(steps):
            if position >= n:  # a new pass over the data
                order = torch.randperm(n, generator=shuffler) if config.shuffle else torch.arange(n)
                position = 0
            idx = order[position : position + config.batch_size]
            position += config.batch_size
            lr = lr_min * ratio ** (i / (steps - 1))
            for group in opt.param_groups:
                group["lr"] = lr
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model, *(t[idx].to(device) for t in tensors))
            value = loss.item()
            lrs.append(lr)
            losses.append(value)
            if not math.isfinite(value):
                smoothed.append(math.inf)
                stopped_early = i < steps - 1
                break
            m = beta * m + (1 - beta) * value
            smoothed.append(m / (1 - beta ** (i + 1)))
            best = min(best, smoothed[-1])
            if smoothed[-1] > divergence * best:
                stopped_early = i < steps - 1
                break
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, config.clip_norm or math.inf)
            opt.step()
    finally:
        if saved is not None:
            model.load_state_dict(saved)
        model.train(was_training)
    lr_at_min, suggested = suggest_lr(lrs, smoothed, factor)
    return LRRangeTest(lrs, losses, smoothed, lr_at_min, suggested, stopped_early)
