"""The vanilla (Elman) RNN in NumPy: parameters, one step, the forward pass, PyTorch weights.

In the book's notation (the sources' U, W, V, S_t, O_t) one step of the network is

.. math:: S_t = f(U x_t + W S_{t-1} + b), \\qquad O_t = V S_t + c,

with :math:`f` = tanh or ReLU. Parameters live in a dict whose keys are PyTorch's names, so weights
move both ways between this module and ``torch.nn.RNN`` + ``torch.nn.Linear``
(:mod:`rnnlib.reference.torch_io` does the copying):

==========  ============  ==============  =============================
key         symbol        shape           PyTorch
==========  ============  ==============  =============================
weight_ih   U             (H, H_in)       ``rnn.weight_ih_l0``
weight_hh   W             (H, H)          ``rnn.weight_hh_l0``
bias_ih     b (part 1)    (H,)            ``rnn.bias_ih_l0``
bias_hh     b (part 2)    (H,)            ``rnn.bias_hh_l0``
weight_ho   V             (O, H)          ``linear.weight``
bias_ho     c             (O,)            ``linear.bias``
==========  ============  ==============  =============================

PyTorch keeps two hidden biases where the sources write one: only their sum
``b = bias_ih + bias_hh`` enters the equations, so the two always receive the same gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from rnnlib.reference.functional import d_relu, d_tanh, relu, tanh

__all__ = [
    "init_rnn_params",
    "rnn_step",
    "rnn_forward",
    "check_params",
    "NONLINEARITIES",
]

#: The activation ``f`` and its derivative ``f'`` (of the pre-activation), by name.
NONLINEARITIES: dict[str, tuple[Callable, Callable]] = {
    "tanh": (tanh, d_tanh),
    "relu": (relu, d_relu),
}
RNN_KEYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
OUT_KEYS = ("weight_ho", "bias_ho")


def init_rnn_params(
    input_size: int, hidden_size: int, output_size: int | None = None, *, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Draw RNN parameters the way PyTorch does: every entry from U(-1/sqrt(H), 1/sqrt(H)).

    ``torch.nn.RNN`` draws all its weights and both biases from that range, and so does
    ``torch.nn.Linear(H, O)`` for the output layer (its fan-in is H), so this is the same
    distribution, not the same numbers. To get PyTorch's numbers, copy weights with
    ``from_torch_state_dict``.

    Args:
        input_size: H_in, the size of each input vector x_t.
        hidden_size: H, the size of the state S_t.
        output_size: O, the size of each output O_t = V S_t + c; ``None`` for no output layer.
        rng: the NumPy random generator to draw from (keyword only).

    Returns:
        The parameters, float64 arrays keyed by name (see the module docstring).
        ``weight_ih`` (H, H_in), ``weight_hh`` (H, H), ``bias_ih`` (H,), ``bias_hh`` (H,)
        and, with an output layer, ``weight_ho`` (O, H), ``bias_ho`` (O,).

    Raises:
        TypeError: if ``rng`` is not a :class:`numpy.random.Generator` or a size not an int.
        ValueError: if a size is not positive.

    Example:
        >>> p = init_rnn_params(3, 4, 2, rng=np.random.default_rng(0))
        >>> {k: v.shape for k, v in p.items()}  # doctest: +NORMALIZE_WHITESPACE
        {'weight_ih': (4, 3), 'weight_hh': (4, 4), 'bias_ih': (4,), 'bias_hh': (4,),
         'weight_ho': (2, 4), 'bias_ho': (2,)}
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    sizes = {"input_size": input_size, "hidden_size": hidden_size}
    if output_size is not None:
        sizes["output_size"] = output_size
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{name} must be positive, got {value}")
    bound = 1.0 / np.sqrt(hidden_size)
    shapes = {
        "weight_ih": (hidden_size, input_size),
        "weight_hh": (hidden_size, hidden_size),
        "bias_ih": (hidden_size,),
        "bias_hh": (hidden_size,),
    }
    if output_size is not None:
        shapes.update(weight_ho=(output_size, hidden_size), bias_ho=(output_size,))
    return {k: rng.uniform(-bound, bound, size=s) for k, s in shapes.items()}


def check_params(params: Mapping[str, np.ndarray]) -> tuple[int, int, int | None]:
    """Check the keys and shapes of a parameter dict; return ``(H_in, H, O or None)``.

    Raises:
        TypeError: if ``params`` is not a mapping of arrays.
        ValueError: if a key is missing or a shape does not fit the others.
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}")
    missing = [k for k in RNN_KEYS if k not in params]
    if missing:
        raise ValueError(f"params is missing {missing}; expected keys {list(RNN_KEYS)}")
    has_out = [k in params for k in OUT_KEYS]
    if any(has_out) and not all(has_out):
        raise ValueError(f"params must hold both or neither of {list(OUT_KEYS)}")
    if np.ndim(params["weight_ih"]) != 2:
        raise ValueError("params['weight_ih'] must have shape (H, H_in), got "
                         f"{np.shape(params['weight_ih'])}")
    hidden, input_size = np.shape(params["weight_ih"])
    out = np.shape(params["weight_ho"])[0] if all(has_out) else None
    expected = {"weight_ih": (hidden, input_size), "weight_hh": (hidden, hidden),
                "bias_ih": (hidden,), "bias_hh": (hidden,)}
    if out is not None:
        expected.update(weight_ho=(out, hidden), bias_ho=(out,))
    for key, shape in expected.items():
        if np.shape(params[key]) != shape:
            raise ValueError(f"params[{key!r}] must have shape {shape} (H={hidden}, "
                             f"H_in={input_size}), got {np.shape(params[key])}")
    return input_size, hidden, out


def _activation(nonlinearity: str) -> tuple[Callable, Callable]:
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(
            f"unknown nonlinearity {nonlinearity!r}; expected one of {sorted(NONLINEARITIES)}"
        )
    return NONLINEARITIES[nonlinearity]


def _as_float(name: str, value: object) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}") from err
    return arr


def rnn_step(
    params: Mapping[str, np.ndarray],
    x_t: np.ndarray,
    s_prev: np.ndarray,
    nonlinearity: str = "tanh",
) -> np.ndarray:
    """One step of the RNN: :math:`S_t = f(U x_t + W S_{t-1} + b)`, with ``b = bias_ih + bias_hh``.

    Args:
        params: parameters as made by ``init_rnn_params`` (the output layer is not used).
        x_t: the input at step t.
        s_prev: the previous state :math:`S_{t-1}`.
        nonlinearity: ``"tanh"`` or ``"relu"``.

    Shape:
        x_t: (H_in,) or (N, H_in). s_prev: (H,) or (N, H), batched like ``x_t``. Returns the
        shape of ``s_prev``.

    Returns:
        The new state :math:`S_t`.

    Raises:
        ValueError: on a wrong shape or an unknown nonlinearity.

    Example:
        >>> p = init_rnn_params(2, 3, rng=np.random.default_rng(0))
        >>> rnn_step(p, np.ones(2), np.zeros(3)).shape
        (3,)
    """
    f, _ = _activation(nonlinearity)
    input_size, hidden, _ = check_params(params)
    x_t, s_prev = _as_float("x_t", x_t), _as_float("s_prev", s_prev)
    if x_t.ndim not in (1, 2) or x_t.shape[-1] != input_size:
        raise ValueError(f"x_t must have shape (H_in,) or (N, H_in) with H_in={input_size}, "
                         f"got {x_t.shape}")
    if s_prev.shape != x_t.shape[:-1] + (hidden,):
        raise ValueError(f"s_prev must have shape {x_t.shape[:-1] + (hidden,)} to match x_t "
                         f"{x_t.shape} and H={hidden}, got {s_prev.shape}")
    b = params["bias_ih"] + params["bias_hh"]
    return f(x_t @ params["weight_ih"].T + s_prev @ params["weight_hh"].T + b)


def rnn_forward(
    params: Mapping[str, np.ndarray],
    x: np.ndarray,
    h0: np.ndarray | None = None,
    nonlinearity: str = "tanh",
) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Run the RNN over a sequence and keep what the backward pass needs.

    .. math:: A_t = U x_t + W S_{t-1} + b, \\quad S_t = f(A_t), \\quad O_t = V S_t + c,
        \\qquad t = 1, \\dots, L,

    starting from :math:`S_0` = ``h0`` (zeros when not given). Same numbers as
    ``torch.nn.RNN(H_in, H, nonlinearity=...)`` followed by ``torch.nn.Linear(H, O)``.

    Args:
        params: parameters as made by ``init_rnn_params``.
        x: the input sequence, time first (PyTorch's ``batch_first=False``).
        h0: the initial state :math:`S_0`, or ``None`` for zeros.
        nonlinearity: ``"tanh"`` or ``"relu"``.

    Shape:
        x: (L, H_in) or (L, N, H_in). h0: (H,) or (N, H), batched like ``x`` (PyTorch's extra
        leading layer axis is not used here). S: (L, H) or (L, N, H). O: (L, O) or (L, N, O).

    Returns:
        ``(S, O, cache)``: the states :math:`S_1, \\dots, S_L`, the outputs (``None`` when
        ``params`` has no output layer) and a dict with the inputs, :math:`S_0`, the
        pre-activations ``A`` and the states, for ``rnn_backward``.

    Raises:
        ValueError: on a wrong rank or size of ``x`` or ``h0``, or an unknown nonlinearity.

    Example:
        >>> p = init_rnn_params(2, 3, 1, rng=np.random.default_rng(0))
        >>> S, O, cache = rnn_forward(p, np.ones((5, 4, 2)))  # L=5, N=4, H_in=2
        >>> S.shape, O.shape
        ((5, 4, 3), (5, 4, 1))
    """
    f, _ = _activation(nonlinearity)
    input_size, hidden, out = check_params(params)
    x = _as_float("x", x)
    if x.ndim not in (2, 3) or x.shape[-1] != input_size or x.shape[0] < 1:
        raise ValueError(f"x must have shape (L, H_in) or (L, N, H_in) with L >= 1 and "
                         f"H_in={input_size}, got {x.shape}")
    state_shape = x.shape[1:-1] + (hidden,)  # (H,) or (N, H)
    if h0 is None:
        h0 = np.zeros(state_shape)
    else:
        h0 = _as_float("h0", h0)
        if h0.shape != state_shape:
            raise ValueError(f"h0 must have shape {state_shape} for x of shape {x.shape} and "
                             f"H={hidden}, got {h0.shape}")
    U, W = params["weight_ih"], params["weight_hh"]
    b = params["bias_ih"] + params["bias_hh"]
    A = np.empty((x.shape[0],) + state_shape)  # (L, [N,] H) pre-activations
    S = np.empty_like(A)  # (L, [N,] H) states S_1..S_L
    s = h0
    for t in range(x.shape[0]):
        A[t] = x[t] @ U.T + s @ W.T + b
        s = S[t] = f(A[t])
    O = None if out is None else S @ params["weight_ho"].T + params["bias_ho"]  # noqa: E741
    cache = {"x": x, "h0": h0, "A": A, "S": S, "nonlinearity": nonlinearity}
    return S, O, cache
