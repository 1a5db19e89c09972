"""One training loop for every chapter: models differ, the loop does not.

:func:`fit` knows nothing about the model. It takes a ``loss_fn(model, *batch)`` that returns a
scalar loss, cuts the data into mini-batches, and records what a chapter wants to plot: the loss
of every epoch and step, and the gradient norm of every step (before clipping).

Run interactively (a terminal, or a notebook open in Jupyter), :func:`fit` shows a progress
bar (tqdm); executed by a tool (the book build, nbval, CI, a script whose output goes to a
file), it stays quiet. :func:`progress_enabled` says which, and why. With ``checkpoint=path``
:func:`fit` saves its whole state at the end of every epoch (:mod:`rnnlib.checkpoint`), and
``resume=True`` continues from that file exactly where the run stopped.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

LossFn = Callable[..., torch.Tensor]

#: Environment variable that switches the progress bar on (``1``) or off (``0``) everywhere.
PROGRESS_ENV_VAR = "RNNLIB_PROGRESS"
_ON, _OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")
# Settings a resumed run must share with the run that saved the checkpoint: they decide the
# updates. The others (epochs, max_steps, max_seconds, progress) may change on resuming.
_RESUME_MUST_MATCH = (
    "batch_size", "lr", "optimizer", "momentum", "weight_decay", "clip_norm", "patience",
    "shuffle", "seed",
)


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
        progress: show a tqdm progress bar over the updates, with the last epoch's losses.
            ``None`` (the default) decides automatically, see :func:`rnnlib.train.progress_enabled`:
            on in a terminal or a notebook open in Jupyter, off in the book build, nbval and
            CI (or wherever ``RNNLIB_PROGRESS=0``). ``True`` or ``False`` force it.
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
    progress: bool | None = None

    def __post_init__(self) -> None:
        if self.progress is not None and not isinstance(self.progress, bool):
            raise TypeError(
                f"expected progress to be None (automatic), True or False, got {self.progress!r}"
            )
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


def _in_interactive_notebook() -> bool:
    """Whether we run in a Jupyter kernel that a person is looking at.

    A kernel started by a Jupyter server (JupyterLab, Notebook 7) has ``JPY_SESSION_NAME`` in
    its environment; VS Code defines ``__vsc_ipynb_file__`` in the user namespace; Colab imports
    ``google.colab``. A kernel started by nbclient (the book build, nbval) has none of these.
    """
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    if shell is None or "IPKernelApp" not in getattr(shell, "config", {}):
        return False
    return bool(
        os.environ.get("JPY_SESSION_NAME")
        or "google.colab" in sys.modules
        or "__vsc_ipynb_file__" in getattr(shell, "user_ns", {})
    )


def progress_enabled(setting: bool | None = None) -> bool:
    """Whether :func:`rnnlib.fit` shows a progress bar, for ``FitConfig.progress = setting``.

    ``True`` and ``False`` are obeyed. ``None`` (automatic) decides, in this order:

    1. ``RNNLIB_PROGRESS`` set: ``1``/``true``/``yes``/``on`` shows the bar,
       ``0``/``false``/``no``/``off`` hides it.
    2. ``CI`` set (as CI services do) and not ``0``/``false``: hidden.
    3. Standard error is a terminal: shown.
    4. A notebook open in Jupyter (JupyterLab, Notebook, VS Code, Colab): shown.
    5. Otherwise (a kernel run by the book build or nbval, output piped to a file): hidden.

    Args:
        setting: ``None``, ``True`` or ``False``.

    Raises:
        TypeError: if ``setting`` is not ``None`` or a bool.
        ValueError: if ``RNNLIB_PROGRESS`` holds another value.

    Example:
        >>> progress_enabled(False), progress_enabled(True)
        (False, True)
    """
    if setting is not None:
        if not isinstance(setting, bool):
            raise TypeError(f"expected None, True or False, got {setting!r}")
        return setting
    env = os.environ.get(PROGRESS_ENV_VAR)
    if env is not None:
        value = env.strip().lower()
        if value in _ON:
            return True
        if value in _OFF:
            return False
        raise ValueError(
            f"expected {PROGRESS_ENV_VAR} to be one of {_ON + _OFF[:-1]}, got {env!r}"
        )
    if os.environ.get("CI", "").strip().lower() not in _OFF:
        return False
    stderr = sys.stderr
    if stderr is not None and hasattr(stderr, "isatty") and stderr.isatty():
        return True
    return _in_interactive_notebook()


def _progress_bar(total: int):
    """A tqdm bar: the widget in a notebook that has ipywidgets, the text bar elsewhere."""
    try:
        from tqdm.std import tqdm
    except ImportError as exc:  # tqdm is in requirements.txt, but rnnlib does not need it
        raise ImportError("the progress bar needs tqdm: pip install tqdm, or set "
                          "FitConfig(progress=False)") from exc
    if _in_interactive_notebook():
        try:
            import ipywidgets  # noqa: F401
            from tqdm.notebook import tqdm
        except ImportError:
            pass
    return tqdm(total=total, unit="step", dynamic_ncols=True, leave=True)


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


def _check_training_inputs(model: nn.Module, config: FitConfig, train) -> tuple[torch.Tensor, ...]:
    """The checks :func:`fit` and :func:`rnnlib.tuning.lr_range_test` share; the train tensors."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected model to be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(config, FitConfig):
        raise TypeError(f"expected config to be a FitConfig, got {type(config).__name__}")
    return _as_tensors("train", train)


def fit(
    model: nn.Module,
    loss_fn: LossFn,
    train: Sequence[torch.Tensor],
    valid: Sequence[torch.Tensor] | None = None,
    config: FitConfig = FitConfig(),  # noqa: B008 (frozen, so a shared default is safe)
    *,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
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
        checkpoint: a file to which the whole training state (model, optimiser, shuffling
            generator, global random generators, history, early-stopping bookkeeping) is
            saved atomically at the end of every epoch
            (:func:`rnnlib.checkpoint.save_checkpoint`).
        resume: continue from ``checkpoint`` (which must exist) with the epoch after the one
            saved there. The model and its optimiser are overwritten and the random generators
            restored, so the run continues exactly as if it had not stopped: on a CPU, ``fit``
            for 2k epochs and ``fit`` for k epochs, then ``resume=True`` with ``epochs=2k`` on a
            fresh model, give the same parameters bit for bit. The settings that decide the
            updates must equal the saved ones; ``epochs``, ``max_steps``, ``max_seconds`` and
            ``progress`` may change. A run stopped mid-epoch (``max_steps``, ``max_seconds``)
            resumes at the next epoch.

    Returns:
        A :class:`History`. A loss that becomes ``nan`` or ``inf`` is recorded, and training
        goes on, so that a chapter can show the explosion. After ``resume=True`` it holds the
        saved epochs too.

    Example:
        >>> _ = torch.manual_seed(0); x = torch.randn(64, 3); y = x.sum(1, keepdim=True)
        >>> model = nn.Linear(3, 1)
        >>> mse = lambda m, x, y: ((m(x) - y) ** 2).mean()
        >>> h = fit(model, mse, (x, y), config=FitConfig(epochs=60, lr=0.1))
        >>> h.train_loss[-1] < 1e-3 * h.train_loss[0]
        True
    """
    tensors = _check_training_inputs(model, config, train)
    valid_tensors = _as_tensors("valid", valid) if valid is not None else None
    if config.patience is not None and valid_tensors is None:
        raise ValueError("config.patience needs validation data: pass valid=(x, y)")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs the checkpoint file to resume from: pass checkpoint=")

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
    n = tensors[0].shape[0]
    first_epoch = 0
    if resume:
        history, best, best_state, waited, first_epoch = _resume(
            checkpoint, model, opt, shuffler, config, n
        )
    start = time.perf_counter() - history.seconds
    steps_per_epoch = math.ceil(n / config.batch_size)
    planned = max(config.epochs - first_epoch, 0) * steps_per_epoch
    if config.max_steps is not None:
        planned = min(planned, max(config.max_steps - history.steps, 0))
    bar = _progress_bar(planned) if progress_enabled(config.progress) and planned else None
    model.train()
    try:
        for epoch in range(first_epoch, config.epochs):
            if config.max_steps is not None and history.steps >= config.max_steps:
                history.stopped_because = "max_steps"
                break
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
                if bar is not None:
                    bar.update()
                if config.max_steps is not None and history.steps >= config.max_steps:
                    history.stopped_because = "max_steps"
                    break
                if (config.max_seconds is not None
                        and time.perf_counter() - start > config.max_seconds):
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
            if bar is not None:
                valid_text = f", valid {history.valid_loss[-1]:.4g}" if valid_tensors else ""
                bar.set_postfix_str(
                    f"epoch {epoch + 1}: train {history.train_loss[-1]:.4g}{valid_text}"
                )
            if checkpoint is not None:
                history.seconds = time.perf_counter() - start
                _save_fit_state(checkpoint, model, opt, shuffler, config, n, epoch + 1,
                                history, best, best_state, waited)
            if history.stopped_because != "epochs":
                break
            if config.patience is not None and waited >= config.patience:
                history.stopped_because = "patience"
                break
    finally:
        if bar is not None:
            bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    history.seconds = time.perf_counter() - start
    return history


def _save_fit_state(path, model, opt, shuffler, config, n, epochs_done, history, best,
                    best_state, waited) -> None:
    from rnnlib.checkpoint import save_checkpoint

    state = {
        "history": dataclasses.asdict(history),
        "best": best,
        "best_state": best_state,
        "waited": waited,
        "shuffler": shuffler.get_state(),
        "config": dataclasses.asdict(config),
        "n_train": n,
    }
    save_checkpoint(path, model, opt, step=history.steps, epoch=epochs_done,
                    extra={"fit": state})


def _resume(path, model, opt, shuffler, config, n):
    from rnnlib.checkpoint import load_checkpoint, read_checkpoint

    state = read_checkpoint(path)["extra"].get("fit")
    if not isinstance(state, dict):
        raise ValueError(f"{path} is a checkpoint, but not one written by fit(checkpoint=...)")
    saved = state["config"]
    changed = [
        f"{name}: {saved[name]!r} saved, {getattr(config, name)!r} now"
        for name in _RESUME_MUST_MATCH if saved.get(name) != getattr(config, name)
    ]
    if changed:
        raise ValueError(
            f"cannot resume {path} exactly with other settings ({'; '.join(changed)}); only "
            "epochs, max_steps, max_seconds and progress may change"
        )
    if state["n_train"] != n:
        raise ValueError(
            f"{path} was trained on {state['n_train']} training samples, got {n} now: "
            "resume with the same training data"
        )
    info = load_checkpoint(path, model, opt, restore_rng=True)
    shuffler.set_state(state["shuffler"])
    history = History(**state["history"])
    history.stopped_because = "epochs"
    return history, state["best"], state["best_state"], state["waited"], info.epoch
