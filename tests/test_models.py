import pytest
import torch
from torch import nn

import rnnlib as rl
from rnnlib.models import EveryStep, LastStep


@pytest.mark.parametrize("layer_cls", [rl.RNN, rl.LSTM, rl.GRU, nn.LSTM])
def test_reads_the_output_at_the_last_step(layer_cls, device):
    torch.manual_seed(0)
    model = LastStep(layer_cls(3, 5, num_layers=2, batch_first=True), out_features=2).to(device)
    x = torch.randn(4, 7, 3, device=device)
    output = model.layer(x)[0]  # (N, L, H)
    torch.testing.assert_close(model(x), model.head(output[:, -1]))


def test_bidirectional_concatenates_both_final_states():
    torch.manual_seed(0)
    model = LastStep(rl.GRU(3, 5, bidirectional=True), out_features=1)
    x = torch.randn(6, 2, 3)  # (L, N, H_in)
    output = model.layer(x)[0]  # (L, N, 2H)
    want = torch.cat([output[-1, :, :5], output[0, :, 5:]], dim=-1)
    torch.testing.assert_close(model(x), model.head(want))


def test_packed_sequences_are_read_at_their_own_last_step():
    torch.manual_seed(0)
    model = LastStep(rl.LSTM(2, 4, batch_first=True))
    x = torch.randn(3, 6, 2)
    lengths = torch.tensor([6, 2, 4])
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    solo = torch.cat([model(x[i : i + 1, : lengths[i]]) for i in range(3)])
    torch.testing.assert_close(model(packed), solo)


def test_unbatched_input_gives_an_unbatched_output():
    assert LastStep(rl.RNN(2, 4), out_features=3)(torch.zeros(5, 2)).shape == (3,)


def test_rejects_what_is_not_a_recurrent_layer():
    with pytest.raises(TypeError, match="hidden_size"):
        LastStep(nn.Linear(2, 3))


@pytest.mark.parametrize("layer_cls", [rl.RNN, rl.GRU, nn.LSTM])
def test_every_step_reads_the_output_at_every_step(layer_cls, device):
    torch.manual_seed(0)
    model = EveryStep(layer_cls(3, 5, num_layers=2, batch_first=True), out_features=2).to(device)
    x = torch.randn(4, 7, 3, device=device)
    out = model(x)
    assert out.shape == (4, 7, 2)
    for t in range(7):  # step t depends only on the inputs up to t (unidirectional)
        torch.testing.assert_close(out[:, t], model(x[:, : t + 1])[:, -1])


def test_every_step_agrees_with_last_step_at_the_end():
    torch.manual_seed(0)
    every = EveryStep(rl.GRU(3, 5), out_features=2)
    last = LastStep(every.layer, out_features=2)
    last.head.load_state_dict(every.head.state_dict())
    x = torch.randn(6, 2, 3)  # (L, N, H_in)
    torch.testing.assert_close(every(x)[-1], last(x))


def test_every_step_bidirectional_and_unbatched():
    model = EveryStep(rl.RNN(2, 4, bidirectional=True), out_features=3)
    assert model.head.in_features == 8
    assert model(torch.zeros(5, 2)).shape == (5, 3)


def test_every_step_rejects_what_is_not_a_recurrent_layer():
    with pytest.raises(TypeError, match="hidden_size"):
        EveryStep(nn.Linear(2, 3))
