"""NumPy reference implementations: the maths of the book, plainly, on the CPU (float64).

Import as ``from rnnlib import reference as ref``. Parameters are dicts keyed by PyTorch's names
(``weight_ih`` = U, ``weight_hh`` = W, ``weight_ho`` = V, ...), so weights move both ways with
``torch.nn.RNN`` through ``to_torch_state_dict`` and ``from_torch_state_dict``.
"""

from rnnlib.reference.bptt import TRUNCATIONS, bptt, rnn_backward
from rnnlib.reference.functional import (
    IGNORE_INDEX,
    cross_entropy,
    d_relu,
    d_sigmoid,
    d_tanh,
    mse_loss,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from rnnlib.reference.gradcheck import (
    gradcheck,
    gradient_errors,
    numerical_gradient,
    relative_error,
)
from rnnlib.reference.rnn import (
    NONLINEARITIES,
    check_params,
    init_rnn_params,
    rnn_forward,
    rnn_step,
)
from rnnlib.reference.torch_io import (
    from_torch_state_dict,
    split_torch_state_dict,
    to_torch_state_dict,
)

__all__ = [
    "IGNORE_INDEX",
    "NONLINEARITIES",
    "TRUNCATIONS",
    "bptt",
    "check_params",
    "cross_entropy",
    "d_relu",
    "d_sigmoid",
    "d_tanh",
    "from_torch_state_dict",
    "gradcheck",
    "gradient_errors",
    "init_rnn_params",
    "mse_loss",
    "numerical_gradient",
    "relative_error",
    "relu",
    "rnn_backward",
    "rnn_forward",
    "rnn_step",
    "sigmoid",
    "softmax",
    "split_torch_state_dict",
    "tanh",
    "to_torch_state_dict",
]
