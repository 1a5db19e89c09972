"""One training loop for every chapter: models differ, the loop does not.

:func:`fit` knows nothing about the model. It takes a ``loss_fn(model, *batch)`` that returns a
scalar loss, cuts the data into mini-batches, and records what a chapter wants to plot: the loss
of every epoch and step, and the gradient norm of every step (before clipping).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

LossFn = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class FitConfig:
    """Settings of one training run. Frozen: make a new one with :func:`dataclasses.replace`.

    Args:
        epochs: passes over the training data.
        batch_size: sequences per update.
        lr: learning rate.
        optimizer: ``"adam"`` (Kingma & Ba 2015) or ``"sgd"``.
        momentum: momentum of SGD (ignored by Adam).
        weight_decay: L2 penalty passed to the optimiser.
        clip_norm: if set, rescale the gradient so its global norm is at most this
            (the sources' "threshold" against exploding gradients).
        max_seconds: stop after the first step that ends past this much wall time.
        max_steps: stop after this many updates.
        patience: stop when the validation loss has not improved for this many epochs,
            and restore the best weights (needs ``valid``).
        shuffle: reshuffle the training data every epoch.
        seed: seed of the shuffling generator (``None``: not reproducible).
        progress: print one line per epoch.
    """

    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.0
    weight_decay: float = 0.0
    clip_norm: float | None = None
    max_seconds: float | None = None
    max_steps: int | None = None
    patience: int | None = None
    shuffle: bool = True
    seed: int | None = 0
    progress: bool = False

    def __post_init__(self) -> None:
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"expected optimizer 'adam' or 'sgd', got {self.optimizer!r}")
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"expected {name} to be a positive int, got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"expected lr > 0, got {self.lr!r}")
        for name in ("clip_norm", "max_seconds", "max_steps", "patience"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"expected {name} to be None or > 0, got {value!r}")


@dataclass
class History:
    """What happened during :func:`fit`: losses per epoch and per step, gradient norms."""

    train_loss: list[float] = field(default_factory=list)  # mean over each epoch's steps
    valid_loss: list[float] = field(default_factory=list)  # after each epoch
    step_loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)  # global norm, before clipping
    seconds: float = 0.0
    steps: int = 0
    stopped_because: str = "epochs"  # "epochs", "max_seconds", "max_steps", "patience"
    best_epoch: int | None = None

    @property
    def final_valid_loss(self) -> float:
        """The last validation loss (``nan`` if there was no validation data)."""
        return self.valid_loss[-1] if self.valid_loss else math.nan


def _as_tensors(name: str, data: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    if isinstance(data, torch.Tensor) or not isinstance(data, (tuple, list)) or not data:
        raise TypeError(
            f"expected {name} to be a non-empty tuple of tensors such as (x, y), "
            f"got {type(data).__name__}"
        )
    tensors = tuple(data)
    for i, t in enumerate(tensors):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"expected {name}[{i}] to be a torch.Tensor, got {type(t).__name__}")
    sizes = [t.shape[0] if t.dim() else None for t in tensors]
    if len(set(sizes)) != 1 or sizes[0] is None:
        raise ValueError(
            f"expected the tensors of {name} to share their first (sample) dimension, "
            f"got shapes {[tuple(t.shape) for t in tensors]}"
        )
    return tensors


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _batches(tensors, batch_size, device, order=None):
    n = tensors[0].shape[0]
    index = order if order is not None else torch.arange(n)
    for start in range(0, n, batch_size):
        idx = index[start : start + batch_size]
        yield tuple(t[idx].to(device, non_blocking=True) for t in tensors)


@torch.no_grad()
def evaluate(
    model: nn.Module, loss_fn: LossFn, data: Sequence[torch.Tensor], batch_size: int = 256
) -> float:
    """Mean of ``loss_fn`` over ``data`` in evaluation mode, without gradients.

    Batches are weighted by their size, so the result is the mean over samples whenever
    ``loss_fn`` returns a mean over its batch.

    Example:
        >>> model = nn.Linear(1, 1)
        >>> _ = model.weight.data.fill_(2.0), model.bias.data.zero_()
        >>> x = torch.ones(5, 1)
        >>> evaluate(model, lambda m, x, y: ((m(x) - y) ** 2).mean(), (x, 3 * x))
        1.0
    """
    tensors = _as_tensors("data", data)
    was_training = model.training
    model.eval()
    try:
        total, count = 0.0, 0
        for batch in _batches(tensors, batch_size, _model_device(model)):
            size = batch[0].shape[0]
            total += float(loss_fn(model, *batch)) * size
            count += size
    finally:
        model.train(was_training)
    return total / count


def fit(
    model: nn.Module,
    loss_fn: LossFn,
    train: Sequence[torch.Tensor],
    valid: Sequence[torch.Tensor] | None = None,
    config: FitConfig = FitConfig(),  # noqa: B008 (frozen, so a shared default is safe)
) -> History:
    """Train ``model`` to lower ``loss_fn`` by mini-batch gradient descent.

    Each step: ``loss = loss_fn(model, *batch)``; back-propagate; record the global gradient norm
    :math:`\\lVert g \\rVert`; if ``config.clip_norm`` is set, rescale :math:`g \\leftarrow g \\cdot
    \\min(1, \\theta / \\lVert g \\rVert)`; take an optimiser step. Batches are moved to the model's
    device, so the same call runs on CPU, CUDA or MPS.

    Args:
        model: any module; its parameters are updated in place.
        loss_fn: ``loss_fn(model, *batch) -> scalar tensor``.
        train: tensors with equal first dimension, e.g. ``(x, y)``; cut into batches along it.
        valid: optional tensors like ``train``, evaluated after every epoch.
        config: a :class:`FitConfig`.

    Returns:
        A :class:`History`. A loss that becomes ``nan`` or ``inf`` is recorded, and training
        goes on, so that a chapter can show the explosion.

    Example:
        >>> _ = torch.manual_seed(0); x = torch.randn(64, 3); y = x.sum(1, keepdim=True)
        >>> model = nn.Linear(3, 1)
        >>> mse = lambda m, x, y: ((m(x) - y) ** 2).mean()
        >>> h = fit(model, mse, (x, y), config=FitConfig(epochs=60, lr=0.1))
        >>> h.train_loss[-1] < 1e-3 * h.train_loss[0]
        True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected model to be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(config, FitConfig):
        raise TypeError(f"expected config to be a FitConfig, got {type(config).__name__}")
    tensors = _as_tensors("train", train)
    valid_tensors = _as_tensors("valid", valid) if valid is not None else None
    if config.patience is not None and valid_tensors is None:
        raise ValueError("config.patience needs validation data: pass valid=(x, y)")

    device = _model_device(model)
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        opt = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    else:
        opt = torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    shuffler = torch.Generator()
    if config.seed is not None:
        shuffler.manual_seed(config.seed)
    else:
        shuffler.seed()

    history = History()
    best, best_state, waited = math.inf, None, 0
    start = time.perf_counter()
    n = tensors[0].shape[0]
    model.train()
    for epoch in range(config.epochs):
        order = torch.randperm(n, generator=shuffler) if config.shuffle else None
        epoch_losses = []
        for batch in _batches(tensors, config.batch_size, device, order):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model, *batch)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(params, config.clip_norm or math.inf)
            opt.step()
            history.step_loss.append(loss.item())
            history.grad_norm.append(float(norm))
            epoch_losses.append(history.step_loss[-1])
            history.steps += 1
            if config.max_steps is not None and history.steps >= config.max_steps:
                history.stopped_because = "max_steps"
                break
            if config.max_seconds is not None and time.perf_counter() - start > config.max_seconds:
                history.stopped_because = "max_seconds"
                break
        history.train_loss.append(sum(epoch_losses) / len(epoch_losses))
        if valid_tensors is not None:
            history.valid_loss.append(evaluate(model, loss_fn, valid_tensors))
            if history.valid_loss[-1] < best:
                best, waited, history.best_epoch = history.valid_loss[-1], 0, epoch
                if config.patience is not None:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                waited += 1
        if config.progress:
            valid_text = f", valid {history.valid_loss[-1]:.4g}" if valid_tensors else ""
            print(f"epoch {epoch + 1}: train {history.train_loss[-1]:.4g}{valid_text}")
        if history.stopped_because != "epochs":
            break
        if config.patience is not None and waited >= config.patience:
            history.stopped_because = "patience"
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    history.seconds = time.perf_counter() - start
    return history
