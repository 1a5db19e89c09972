"""Many-to-one on padded batches (chapter 08): with packing, padding changes nothing."""

import pytest
import torch
from torch import nn

import rnnlib as rl
from rnnlib.data.batching import pad_sequences
from rnnlib.models import LastStep
from rnnlib.nn.packing import pack_padded_sequence

LAYERS = [rl.RNN, rl.GRU, rl.LSTM, nn.RNN, nn.GRU, nn.LSTM]


class TokenClassifier(nn.Module):
    """Token ids -> embedding (padding_idx 0) -> packed recurrent layer -> LastStep."""

    def __init__(self, layer, vocab=7, embed=3, hidden=5, classes=4, pack=True):
        super().__init__()
        self.pack = pack
        self.embed = nn.Embedding(vocab, embed, padding_idx=0)
        self.read = LastStep(layer(embed, hidden, batch_first=True), out_features=classes)

    def forward(self, x, lengths):
        e = self.embed(x)
        if self.pack:
            e = pack_padded_sequence(e, lengths, batch_first=True, enforce_sorted=False)
        return self.read(e)


def batch():
    words = [[1, 2, 3, 4, 5], [6, 1], [2, 2, 2], [3]]
    return words, *pad_sequences(words, pad_id=0)


def _name(layer):
    return f"{layer.__module__.split('.')[0]}.{layer.__name__}"


@pytest.mark.parametrize("layer", LAYERS, ids=_name)
def test_padding_changes_nothing_when_packed(layer):
    torch.manual_seed(0)
    model = TokenClassifier(layer)
    words, x, lengths = batch()
    alone = torch.cat([model(torch.tensor([w]), torch.tensor([len(w)])) for w in words])
    torch.testing.assert_close(model(x, lengths), alone)
    wider = nn.functional.pad(x, (0, 6), value=0)  # six more padding columns
    torch.testing.assert_close(model(wider, lengths), alone)
    shuffled = torch.tensor([2, 0, 3, 1])
    torch.testing.assert_close(model(x[shuffled], lengths[shuffled]), alone[shuffled])


@pytest.mark.parametrize("layer", [rl.GRU, nn.LSTM], ids=["rnnlib.GRU", "torch.LSTM"])
def test_padding_does_change_the_output_without_packing(layer):
    torch.manual_seed(0)
    model = TokenClassifier(layer, pack=False)
    words, x, lengths = batch()
    alone = torch.cat([model(torch.tensor([w]), torch.tensor([len(w)])) for w in words])
    padded = model(x, lengths)
    torch.testing.assert_close(padded[0], alone[0])  # the longest word has no padding
    assert not torch.allclose(padded[1:], alone[1:], atol=1e-4)


def test_gradients_do_not_reach_the_padding_when_packed():
    torch.manual_seed(0)
    model = TokenClassifier(rl.GRU)
    _, x, lengths = batch()
    e = model.embed(x).detach().requires_grad_()
    packed = pack_padded_sequence(e, lengths, batch_first=True, enforce_sorted=False)
    model.read(packed).sum().backward()
    mask = torch.arange(x.shape[1])[None, :] < lengths[:, None]  # (N, L), True at real steps
    assert (e.grad[~mask] == 0).all() and (e.grad[mask].abs().sum(-1) > 0).all()
