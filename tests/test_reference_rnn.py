"""rnnlib.reference.rnn: parameters, forward pass, PyTorch weights, input validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlib import reference as ref

H_IN, H, H_OUT = 3, 5, 2


@pytest.fixture
def params():
    return ref.init_rnn_params(H_IN, H, H_OUT, rng=np.random.default_rng(0))


def torch_twin(params, nonlinearity="tanh"):
    """torch.nn.RNN + nn.Linear in float64 carrying the same weights."""
    rnn_sd, out_sd = ref.split_torch_state_dict(ref.to_torch_state_dict(params))
    rnn = torch.nn.RNN(H_IN, H, nonlinearity=nonlinearity, dtype=torch.float64)
    rnn.load_state_dict(rnn_sd)
    linear = torch.nn.Linear(H, H_OUT, dtype=torch.float64)
    linear.load_state_dict(out_sd)
    return rnn, linear


def test_init_has_pytorch_names_shapes_and_range(params):
    shapes = {k: v.shape for k, v in params.items()}
    assert shapes == {"weight_ih": (H, H_IN), "weight_hh": (H, H), "bias_ih": (H,),
                      "bias_hh": (H,), "weight_ho": (H_OUT, H), "bias_ho": (H_OUT,)}
    bound = 1 / np.sqrt(H)
    assert all(np.abs(v).max() <= bound for v in params.values())
    assert all(v.dtype == np.float64 for v in params.values())


def test_init_without_output_layer_and_is_reproducible():
    a = ref.init_rnn_params(2, 4, rng=np.random.default_rng(3))
    b = ref.init_rnn_params(2, 4, rng=np.random.default_rng(3))
    assert sorted(a) == ["bias_hh", "bias_ih", "weight_hh", "weight_ih"]
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_init_rejects_bad_rng_and_sizes():
    with pytest.raises(TypeError, match="numpy.random.Generator, got int"):
        ref.init_rnn_params(2, 3, rng=0)
    with pytest.raises(ValueError, match="hidden_size must be positive, got 0"):
        ref.init_rnn_params(2, 0, rng=np.random.default_rng())
    with pytest.raises(TypeError, match="input_size must be an int, got float"):
        ref.init_rnn_params(2.0, 3, rng=np.random.default_rng())


def test_rnn_step_is_the_first_step_of_rnn_forward(params):
    x = np.random.default_rng(1).normal(size=(4, 2, H_IN))
    h0 = np.random.default_rng(2).normal(size=(2, H))
    S, _, _ = ref.rnn_forward(params, x, h0)
    np.testing.assert_allclose(ref.rnn_step(params, x[0], h0), S[0], rtol=1e-14)
    np.testing.assert_allclose(ref.rnn_step(params, x[1], S[0]), S[1], rtol=1e-14)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_h0", [True, False])
def test_rnn_forward_equals_torch_rnn_and_linear(params, nonlinearity, batched, with_h0):
    rng = np.random.default_rng(4)
    batch = (3,) if batched else ()
    x = rng.normal(size=(7, *batch, H_IN))
    h0 = rng.normal(size=(*batch, H)) if with_h0 else None
    S, out, cache = ref.rnn_forward(params, x, h0, nonlinearity)
    rnn, linear = torch_twin(params, nonlinearity)
    hx = None if h0 is None else torch.from_numpy(h0)[None]  # torch adds a layer axis
    expected_S, h_n = rnn(torch.from_numpy(x), hx)
    torch.testing.assert_close(torch.from_numpy(S), expected_S)
    torch.testing.assert_close(torch.from_numpy(S[-1]), h_n[0])
    torch.testing.assert_close(torch.from_numpy(out), linear(expected_S))
    assert cache["A"].shape == S.shape and cache["h0"].shape == S.shape[1:]


def test_rnn_forward_without_output_layer_returns_none():
    p = ref.init_rnn_params(2, 3, rng=np.random.default_rng(0))
    S, out, _ = ref.rnn_forward(p, np.ones((4, 2)))
    assert S.shape == (4, 3) and out is None


def test_state_dict_round_trip_is_exact(params):
    back = ref.from_torch_state_dict(ref.to_torch_state_dict(params))
    assert sorted(back) == sorted(params)
    for k in params:
        np.testing.assert_array_equal(back[k], params[k])


def test_from_torch_state_dict_reads_torch_modules_with_prefixes(params):
    rnn, linear = torch_twin(params)
    model = torch.nn.ModuleDict({"rnn": rnn, "head": linear})
    back = ref.from_torch_state_dict(model.state_dict())
    for k in params:
        np.testing.assert_array_equal(back[k], params[k])


def test_to_torch_state_dict_honours_dtype(params):
    sd = ref.to_torch_state_dict(params, dtype=torch.float32)
    assert {v.dtype for v in sd.values()} == {torch.float32}
    assert set(sd) == {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                       "weight", "bias"}


def test_from_torch_state_dict_rejects_deep_rnn():
    rnn = torch.nn.RNN(2, 3, num_layers=2)
    with pytest.raises(ValueError, match="unexpected parameter 'weight_ih_l1'"):
        ref.from_torch_state_dict(rnn.state_dict())


def test_from_torch_state_dict_rejects_duplicate_names(params):
    sd = ref.to_torch_state_dict(params)
    sd["other.weight"] = sd["weight"]
    with pytest.raises(ValueError, match="'weight' appears twice"):
        ref.from_torch_state_dict(sd)


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (np.ones(H_IN), r"\(L, H_in\) or \(L, N, H_in\).*H_in=3, got \(3,\)"),
        (np.ones((2, 2, 2, H_IN)), r"H_in=3, got \(2, 2, 2, 3\)"),
        (np.ones((4, 2)), r"H_in=3, got \(4, 2\)"),
        (np.ones((4, 6, 2)), r"H_in=3, got \(4, 6, 2\)"),
        (np.ones((0, H_IN)), r"L >= 1.*got \(0, 3\)"),
    ],
)
def test_rnn_forward_rejects_wrong_input_shape(params, x, message):
    with pytest.raises(ValueError, match=message):
        ref.rnn_forward(params, x)


@pytest.mark.parametrize(
    ("x_shape", "h0_shape", "expected"),
    [((4, H_IN), (2, H), r"\(5,\)"), ((4, 2, H_IN), (H,), r"\(2, 5\)"),
     ((4, 2, H_IN), (1, 2, H), r"\(2, 5\)"), ((4, 2, H_IN), (2, 4), r"\(2, 5\)")],
)
def test_rnn_forward_rejects_wrong_h0_shape(params, x_shape, h0_shape, expected):
    with pytest.raises(ValueError, match=f"h0 must have shape {expected}.*got"):
        ref.rnn_forward(params, np.ones(x_shape), np.zeros(h0_shape))


def test_rnn_forward_rejects_unknown_nonlinearity(params):
    with pytest.raises(ValueError, match=r"unknown nonlinearity 'sigmoid'.*\['relu', 'tanh'\]"):
        ref.rnn_forward(params, np.ones((4, H_IN)), nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        ref.rnn_step(params, np.ones(H_IN), np.zeros(H), nonlinearity="gelu")


def test_rnn_forward_rejects_non_numeric_input(params):
    with pytest.raises(TypeError, match="x must be an array of numbers"):
        ref.rnn_forward(params, [["a", "b", "c"]])


def test_rnn_step_rejects_mismatched_state(params):
    with pytest.raises(ValueError, match=r"s_prev must have shape \(2, 5\).*got \(5,\)"):
        ref.rnn_step(params, np.ones((2, H_IN)), np.zeros(H))
    with pytest.raises(ValueError, match=r"x_t must have shape.*H_in=3, got \(4,\)"):
        ref.rnn_step(params, np.ones(4), np.zeros(H))


def test_params_are_validated(params):
    bad = dict(params, weight_hh=np.zeros((H, H + 1)))
    with pytest.raises(ValueError, match=r"params\['weight_hh'\] must have shape \(5, 5\)"):
        ref.rnn_forward(bad, np.ones((2, H_IN)))
    with pytest.raises(ValueError, match=r"missing \['bias_hh'\]"):
        ref.rnn_forward({k: v for k, v in params.items() if k != "bias_hh"}, np.ones((2, H_IN)))
    with pytest.raises(ValueError, match="both or neither"):
        ref.rnn_forward({k: v for k, v in params.items() if k != "bias_ho"}, np.ones((2, H_IN)))
    with pytest.raises(TypeError, match="dict of arrays, got list"):
        ref.rnn_forward([1], np.ones((2, H_IN)))
