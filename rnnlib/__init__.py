"""rnnlib: the small library behind the open textbook on recurrent neural networks.

Every layer a chapter uses can be opened and read here, and gives the same numbers as the
PyTorch module a practitioner would use.

Subpackages and modules:

- ``rnnlib.reference``: NumPy reference implementations (the maths, plainly; CPU by design).
- ``rnnlib.nn``: PyTorch layers written from scratch, drop-in twins of ``torch.nn``.
- ``rnnlib.data``: generated data sets (adding problem, recall task, speech synthesised with
  eSpeak NG) and data that ship in packages (digits, the CMU Pronouncing Dictionary, Python's
  own documentation text, statsmodels' time series), with vocabularies and padding.
- ``rnnlib.models``: read-outs over a recurrent layer (``LastStep``, ``EveryStep``).
- ``rnnlib.bidirectional``: a bidirectional layer built from two one-way layers, and reversal
  within each sequence's length; ``rnnlib.deep``: stacks of layers, with dropout and residual
  connections between them.
- ``rnnlib.seq2seq``: the encoder–decoder, its context vectors, attention, greedy and beam search.
- ``rnnlib.lm``: character language models: stream batches, bits per character, sampling,
  an n-gram baseline.
- ``rnnlib.forecast``: forecasting baselines, errors and multi-step forecasts.
- ``rnnlib.ctc``: connectionist temporal classification: the sum over alignments, greedy and
  prefix beam search decoding.
- ``rnnlib.metrics``: edit distance, phoneme and word error rates.
- ``rnnlib.train``: one training loop, :func:`fit`, for every chapter; ``rnnlib.checkpoint``
  (training states saved atomically, resumed exactly) and ``rnnlib.tuning`` (a learning-rate
  range test) around it.
- ``rnnlib.plot``: figures the chapters share (matplotlib is imported lazily).
- ``rnnlib.compare``: tolerances for comparing rnnlib with torch.nn, per device and dtype.
- ``rnnlib.book``: :func:`glue`, measured numbers from a notebook's code into its prose.

Importing rnnlib does no work beyond importing its modules.
"""

from rnnlib import (
    bidirectional,
    checkpoint,
    compare,
    ctc,
    data,
    deep,
    diagrams,
    forecast,
    gradients,
    lm,
    metrics,
    models,
    plot,
    reference,
    seq2seq,
    tuning,
)
from rnnlib.book import glue
from rnnlib.compare import tolerance
from rnnlib.device import device, seed
from rnnlib.nn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from rnnlib.train import FitConfig, History, evaluate, fit

__all__ = [
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "RNN",
    "RNNCell",
    "FitConfig",
    "History",
    "bidirectional",
    "checkpoint",
    "compare",
    "ctc",
    "data",
    "deep",
    "device",
    "diagrams",
    "evaluate",
    "fit",
    "forecast",
    "glue",
    "gradients",
    "lm",
    "metrics",
    "models",
    "plot",
    "reference",
    "seed",
    "seq2seq",
    "tolerance",
    "tuning",
]
__version__ = "0.1.0"
