"""Moving weights between the NumPy reference and PyTorch, in both directions.

The reference's parameter dict uses PyTorch's names without the layer suffix; these functions add
or strip it, so ``torch.nn.RNN`` + ``torch.nn.Linear`` and :mod:`rnnlib.reference.rnn` compute
with the same numbers:

==========  ==================
reference   PyTorch
==========  ==================
weight_ih   ``rnn.weight_ih_l0``
weight_hh   ``rnn.weight_hh_l0``
bias_ih     ``rnn.bias_ih_l0``
bias_hh     ``rnn.bias_hh_l0``
weight_ho   ``linear.weight``
bias_ho     ``linear.bias``
==========  ==================
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rnnlib.reference.rnn import RNN_KEYS, check_params

__all__ = ["to_torch_state_dict", "split_torch_state_dict", "from_torch_state_dict"]

_TORCH_NAMES = {
    "weight_ih": "weight_ih_l0",
    "weight_hh": "weight_hh_l0",
    "bias_ih": "bias_ih_l0",
    "bias_hh": "bias_hh_l0",
    "weight_ho": "weight",
    "bias_ho": "bias",
}


def to_torch_state_dict(params: Mapping[str, np.ndarray], dtype=None, device=None) -> dict:
    """Convert NumPy parameters to PyTorch tensors under PyTorch's names.

    The RNN part gets ``torch.nn.RNN``'s names (``weight_ih_l0``, ``weight_hh_l0``,
    ``bias_ih_l0``, ``bias_hh_l0``), the output layer ``torch.nn.Linear``'s (``weight``,
    ``bias``), all in one flat dict; ``split_torch_state_dict`` gives the two parts.

    Args:
        params: parameters as made by ``init_rnn_params``.
        dtype: tensor dtype; default ``torch.float64`` (the reference's precision).
        device: tensor device; default the CPU.

    Returns:
        A dict of tensors (copies).

    Example:
        >>> from rnnlib.reference.rnn import init_rnn_params
        >>> import torch
        >>> p = init_rnn_params(2, 3, 1, rng=np.random.default_rng(0))
        >>> rnn_sd, out_sd = split_torch_state_dict(to_torch_state_dict(p))
        >>> rnn = torch.nn.RNN(2, 3, dtype=torch.float64)
        >>> rnn.load_state_dict(rnn_sd)
        <All keys matched successfully>
        >>> sorted(out_sd)
        ['bias', 'weight']
    """
    import torch

    check_params(params)
    dtype = torch.float64 if dtype is None else dtype
    return {
        _TORCH_NAMES[k]: torch.tensor(np.asarray(v), dtype=dtype, device=device)
        for k, v in params.items()
        if k in _TORCH_NAMES
    }


def split_torch_state_dict(state_dict: Mapping) -> tuple[dict, dict]:
    """Split a flat dict from ``to_torch_state_dict`` into the RNN's and the Linear's parts.

    Returns:
        ``(rnn_state_dict, linear_state_dict)``; the second is empty without an output layer.
    """
    rnn_names = {_TORCH_NAMES[k] for k in RNN_KEYS}
    rnn = {k: v for k, v in state_dict.items() if k in rnn_names}
    out = {k: v for k, v in state_dict.items() if k not in rnn_names}
    return rnn, out


def from_torch_state_dict(state_dict: Mapping) -> dict[str, np.ndarray]:
    """Convert PyTorch weights (a one-layer ``nn.RNN``, optionally an ``nn.Linear``) to NumPy.

    Accepts the flat dict of ``to_torch_state_dict``, ``{**rnn.state_dict(),
    **linear.state_dict()}``, or a model's ``state_dict()`` whose keys carry module prefixes
    (``"rnn.weight_ih_l0"``, ``"head.weight"``): only the part after the last dot counts.

    Returns:
        A float64 parameter dict with the keys of ``init_rnn_params``.

    Raises:
        ValueError: if a name is unknown (e.g. ``weight_ih_l1`` of a deeper or bidirectional
            RNN) or appears twice, or the shapes do not fit together.

    Example:
        >>> import torch
        >>> rnn = torch.nn.RNN(2, 3)
        >>> sorted(from_torch_state_dict(rnn.state_dict()))
        ['bias_hh', 'bias_ih', 'weight_hh', 'weight_ih']
    """
    names = {v: k for k, v in _TORCH_NAMES.items()}
    params: dict[str, np.ndarray] = {}
    for full_name, tensor in state_dict.items():
        name = full_name.rsplit(".", 1)[-1]
        if name not in names:
            raise ValueError(f"unexpected parameter {full_name!r}: only a one-layer, "
                             f"unidirectional RNN with biases and one Linear are supported; "
                             f"expected names {sorted(names)}")
        if names[name] in params:
            raise ValueError(f"parameter {name!r} appears twice in the state dict")
        value = tensor.detach().cpu().double().numpy() if hasattr(tensor, "detach") else tensor
        params[names[name]] = np.array(value, dtype=np.float64)
    check_params(params)
    return params
