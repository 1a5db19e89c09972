"""PyTorch recurrent layers written from scratch: drop-in twins of ``torch.nn``'s.

- :mod:`rnnlib.nn.cells`: :class:`RNNCell`, :class:`LSTMCell`, :class:`GRUCell`, one time step
  each, gate by gate.
- :mod:`rnnlib.nn.rnn`: :class:`RNN`, :class:`LSTM`, :class:`GRU`: layers, directions, packed
  sequences; the loop over time has a hand-written backward (backpropagation through time).
- :func:`pack_padded_sequence`: torch's, with the lengths checked first.

Constructor arguments, parameter names and shapes, gate order and return values are those of
``torch.nn``, so state dicts load both ways and the numbers agree.
"""

from rnnlib.nn.cells import GRUCell, LSTMCell, RNNCell
from rnnlib.nn.packing import pack_padded_sequence
from rnnlib.nn.rnn import GRU, LSTM, RNN

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell", "pack_padded_sequence"]
