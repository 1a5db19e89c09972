"""Activation functions, their derivatives, softmax and two losses, in NumPy (float64).

Each derivative is written as a function of the *pre-activation* ``a`` (the argument of the
activation), because that is what the chain rule of backpropagation through time multiplies:
with :math:`S_t = f(A_t)`, the step Jacobian is :math:`\\partial S_t / \\partial S_{t-1} =
\\operatorname{diag}(f'(A_t))\\, W`.

Each loss returns the loss *and* its gradient with respect to its first argument, the pair a
hand-written backward pass needs.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "sigmoid",
    "tanh",
    "relu",
    "d_sigmoid",
    "d_tanh",
    "d_relu",
    "softmax",
    "mse_loss",
    "cross_entropy",
    "IGNORE_INDEX",
]

#: Target value that ``cross_entropy`` skips, as ``torch.nn.CrossEntropyLoss`` does.
IGNORE_INDEX = -100


def sigmoid(a: np.ndarray) -> np.ndarray:
    """Logistic sigmoid, :math:`\\sigma(a) = 1 / (1 + e^{-a})`, computed without overflow.

    Example:
        >>> sigmoid(np.array([0.0, 1000.0]))
        array([0.5, 1. ])
    """
    a = np.asarray(a, dtype=np.float64)
    e = np.exp(-np.abs(a))  # never overflows
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def tanh(a: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent, :math:`\\tanh(a)`.

    Example:
        >>> tanh(np.array([0.0]))
        array([0.])
    """
    return np.tanh(np.asarray(a, dtype=np.float64))


def relu(a: np.ndarray) -> np.ndarray:
    """Rectified linear unit, :math:`\\max(0, a)`.

    Example:
        >>> relu(np.array([-1.0, 2.0]))
        array([0., 2.])
    """
    return np.maximum(np.asarray(a, dtype=np.float64), 0.0)


def d_sigmoid(a: np.ndarray) -> np.ndarray:
    """Derivative of the sigmoid at the pre-activation ``a``: :math:`\\sigma(a)(1-\\sigma(a))`.

    Its maximum is 1/4, at ``a = 0``.

    Example:
        >>> d_sigmoid(np.array([0.0]))
        array([0.25])
    """
    s = sigmoid(a)
    return s * (1.0 - s)


def d_tanh(a: np.ndarray) -> np.ndarray:
    """Derivative of tanh at the pre-activation ``a``: :math:`1 - \\tanh^2(a)`, at most 1.

    Example:
        >>> d_tanh(np.array([0.0]))
        array([1.])
    """
    t = tanh(a)
    return 1.0 - t * t


def d_relu(a: np.ndarray) -> np.ndarray:
    """Derivative of ReLU at the pre-activation ``a``: 1 where ``a > 0``, else 0.

    At ``a = 0`` we use 0, as PyTorch does.

    Example:
        >>> d_relu(np.array([-1.0, 0.0, 3.0]))
        array([0., 0., 1.])
    """
    return (np.asarray(a, dtype=np.float64) > 0).astype(np.float64)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``, :math:`e^{z_i} / \\sum_j e^{z_j}`, shifted by the max for stability.

    Example:
        >>> softmax(np.array([0.0, 0.0]))
        array([0.5, 0.5])
    """
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def mse_loss(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all elements, and its gradient.

    .. math:: \\mathcal{L} = \\frac{1}{n} \\sum_i (p_i - y_i)^2, \\qquad
        \\frac{\\partial \\mathcal{L}}{\\partial p_i} = \\frac{2}{n} (p_i - y_i)

    This equals ``torch.nn.functional.mse_loss(pred, target)`` (reduction ``"mean"``).

    Args:
        pred: predictions, any shape.
        target: targets, the same shape as ``pred``.

    Returns:
        ``(loss, dpred)``: the scalar loss and its gradient, shaped like ``pred``.

    Raises:
        ValueError: if the shapes differ.

    Example:
        >>> mse_loss(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
        (5.0, array([1., 3.]))
    """
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape:
        raise ValueError(
            f"mse_loss: target must have the shape of pred {pred.shape}, got {target.shape}"
        )
    diff = pred - target
    n = max(diff.size, 1)
    return float(np.sum(diff * diff) / n), 2.0 * diff / n


def cross_entropy(
    logits: np.ndarray, targets: np.ndarray, ignore_index: int = IGNORE_INDEX
) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy with integer class targets, averaged over counted positions.

    .. math:: \\mathcal{L} = -\\frac{1}{n} \\sum_i \\log \\operatorname{softmax}(z_i)_{y_i},
        \\qquad \\frac{\\partial \\mathcal{L}}{\\partial z_i} =
        \\frac{1}{n}\\left(\\operatorname{softmax}(z_i) - \\operatorname{onehot}(y_i)\\right)

    Positions whose target equals ``ignore_index`` are left out of the sum and of the count
    ``n`` and get zero gradient, exactly as ``torch.nn.functional.cross_entropy`` does.

    Args:
        logits: scores, shape ``(..., C)``.
        targets: integer classes in ``[0, C)`` (or ``ignore_index``), shape ``(...)``.
        ignore_index: target value to skip.

    Returns:
        ``(loss, dlogits)``: the scalar loss and its gradient, shaped like ``logits``.

    Raises:
        TypeError: if ``targets`` is not an integer array.
        ValueError: if the shapes do not match or a target is out of range.

    Example:
        >>> loss, d = cross_entropy(np.zeros((1, 2)), np.array([0]))
        >>> round(loss, 6), d
        (0.693147, array([[-0.5,  0.5]]))
    """
    logits = np.asarray(logits, dtype=np.float64)
    targets = np.asarray(targets)
    if not np.issubdtype(targets.dtype, np.integer):
        raise TypeError(f"cross_entropy: targets must be integers, got dtype {targets.dtype}")
    if logits.ndim < 1 or targets.shape != logits.shape[:-1]:
        raise ValueError(
            f"cross_entropy: targets must have shape {logits.shape[:-1]} "
            f"(logits {logits.shape} without the class axis), got {targets.shape}"
        )
    num_classes = logits.shape[-1]
    keep = targets != ignore_index
    if np.any((targets[keep] < 0) | (targets[keep] >= num_classes)):
        raise ValueError(f"cross_entropy: targets must lie in [0, {num_classes}) or be "
                         f"{ignore_index}")
    n = int(keep.sum())
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))  # log-softmax
    safe = np.where(keep, targets, 0)[..., None]
    loss = -np.sum(np.take_along_axis(log_p, safe, axis=-1)[..., 0] * keep) / max(n, 1)
    grad = np.exp(log_p)
    np.put_along_axis(grad, safe, np.take_along_axis(grad, safe, axis=-1) - 1.0, axis=-1)
    grad *= keep[..., None] / max(n, 1)
    return float(loss), grad
