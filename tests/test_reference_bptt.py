"""rnnlib.reference.bptt: BPTT against finite differences, PyTorch autograd and the sources' sum."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnlib import reference as ref

H_IN, H, H_OUT, L, N = 3, 4, 3, 5, 2
GRID = list(itertools.product(["tanh", "relu"], [True, False], ["mse", "cross_entropy"],
                              [True, False]))
GRID_IDS = [f"{f}-{'batched' if b else 'unbatched'}-{loss}-{'h0' if h else 'no_h0'}"
            for f, b, loss, h in GRID]


def make_problem(batched, loss, with_h0, seed=0, length=L, scale=1.0):
    rng = np.random.default_rng(seed)
    params = ref.init_rnn_params(H_IN, H, H_OUT, rng=rng)
    params["weight_hh"] *= scale
    batch = (N,) if batched else ()
    x = rng.normal(size=(length, *batch, H_IN))
    if loss == "mse":
        y = rng.normal(size=(length, *batch, H_OUT))
    else:
        y = rng.integers(0, H_OUT, size=(length, *batch))
    h0 = rng.normal(size=(*batch, H)) if with_h0 else None
    return params, x, y, h0


def torch_loss_and_grads(params, x, y, loss, h0, nonlinearity):
    """The same network in torch.nn (float64); autograd's gradients under the reference's keys."""
    rnn_sd, out_sd = ref.split_torch_state_dict(ref.to_torch_state_dict(params))
    rnn = torch.nn.RNN(H_IN, H, nonlinearity=nonlinearity, dtype=torch.float64)
    linear = torch.nn.Linear(H, H_OUT, dtype=torch.float64)
    rnn.load_state_dict(rnn_sd)
    linear.load_state_dict(out_sd)
    hx = None if h0 is None else torch.from_numpy(h0).unsqueeze(0).requires_grad_()
    out = linear(rnn(torch.from_numpy(x), hx)[0])
    if loss == "mse":
        value = F.mse_loss(out, torch.from_numpy(y))
    else:
        value = F.cross_entropy(out.reshape(-1, H_OUT), torch.from_numpy(y).reshape(-1))
    value.backward()
    names = {"weight_ih": rnn.weight_ih_l0, "weight_hh": rnn.weight_hh_l0,
             "bias_ih": rnn.bias_ih_l0, "bias_hh": rnn.bias_hh_l0,
             "weight_ho": linear.weight, "bias_ho": linear.bias}
    grads = {k: p.grad for k, p in names.items()}
    if hx is not None:
        grads["h0"] = hx.grad[0]
    return value.item(), grads


@pytest.mark.parametrize(("nonlinearity", "batched", "loss", "with_h0"), GRID, ids=GRID_IDS)
def test_bptt_passes_finite_difference_check(nonlinearity, batched, loss, with_h0):
    params, x, y, h0 = make_problem(batched, loss, with_h0)
    _, grads = ref.bptt(params, x, y, loss, h0, nonlinearity)
    point = dict(params, h0=h0) if with_h0 else dict(params)

    def f(p):
        p = dict(p)
        return ref.bptt(p, x, y, loss, p.pop("h0", None), nonlinearity)[0]

    assert ref.gradcheck(f, point, grads, rtol=1e-6) < 1e-6


@pytest.mark.parametrize(("nonlinearity", "batched", "loss", "with_h0"), GRID, ids=GRID_IDS)
def test_bptt_equals_torch_autograd(nonlinearity, batched, loss, with_h0):
    params, x, y, h0 = make_problem(batched, loss, with_h0, seed=1)
    value, grads = ref.bptt(params, x, y, loss, h0, nonlinearity)
    expected_value, expected = torch_loss_and_grads(params, x, y, loss, h0, nonlinearity)
    assert value == pytest.approx(expected_value, rel=1e-12)
    for name, g in expected.items():
        torch.testing.assert_close(torch.from_numpy(grads[name]), g, msg=name)


def test_rnn_backward_of_a_loss_on_the_states_equals_autograd():
    params, x, _, h0 = make_problem(True, "mse", True, seed=2)
    p = {k: v for k, v in params.items() if k not in ("weight_ho", "bias_ho")}
    S, out, cache = ref.rnn_forward(p, x, h0)
    R = np.random.default_rng(3).normal(size=S.shape)  # loss = sum(R * S), so dS = R
    grads = ref.rnn_backward(p, cache, dS=R)
    rnn = torch.nn.RNN(H_IN, H, dtype=torch.float64)
    rnn.load_state_dict(ref.to_torch_state_dict(p))
    hx = torch.from_numpy(h0)[None].requires_grad_()
    (rnn(torch.from_numpy(x), hx)[0] * torch.from_numpy(R)).sum().backward()
    torch.testing.assert_close(torch.from_numpy(grads["weight_hh"]), rnn.weight_hh_l0.grad)
    torch.testing.assert_close(torch.from_numpy(grads["weight_ih"]), rnn.weight_ih_l0.grad)
    torch.testing.assert_close(torch.from_numpy(grads["bias_hh"]), rnn.bias_hh_l0.grad)
    torch.testing.assert_close(torch.from_numpy(grads["h0"]), hx.grad[0])
    assert out is None and "weight_ho" not in grads


def test_full_bptt_equals_the_sources_double_sum_over_time():
    """dL/dW = sum_t sum_j dL_t/dS_t (prod_{i=j+1}^t diag f'(A_i) W) d+S_j/dW, term by term."""
    params, x, y, _ = make_problem(False, "mse", False, seed=4)
    S, out, cache = ref.rnn_forward(params, x)
    _, dO = ref.mse_loss(out, y)
    G = dO @ params["weight_ho"]  # dL_t/dS_t, (L, H)
    fp = ref.d_tanh(cache["A"])
    S_prev = np.concatenate([np.zeros((1, H)), S[:-1]])
    dW = np.zeros((H, H))
    for t in range(L):
        for j in range(t + 1):
            row = G[t]
            for i in range(t, j, -1):  # the product of step Jacobians dS_i/dS_{i-1}
                row = row @ (np.diag(fp[i]) @ params["weight_hh"])
            dW += np.outer(row * fp[j], S_prev[j])  # times the immediate d+S_j/dW
    grads = ref.rnn_backward(params, cache, dO=dO)
    np.testing.assert_allclose(grads["weight_hh"], dW, rtol=1e-12)


@pytest.mark.parametrize("truncation", ["window", "chunk"])
@pytest.mark.parametrize("k", [L, L + 3])
def test_truncation_with_k_at_least_L_equals_full_bptt(truncation, k):
    params, x, y, h0 = make_problem(True, "cross_entropy", True, seed=5)
    _, full = ref.bptt(params, x, y, "cross_entropy", h0)
    _, cut = ref.bptt(params, x, y, "cross_entropy", h0, truncate=k, truncation=truncation)
    for name in full:
        np.testing.assert_allclose(cut[name], full[name], rtol=1e-12, atol=1e-15, err_msg=name)


def test_truncation_error_grows_as_the_window_shrinks():
    length = 16
    params, x, y, h0 = make_problem(True, "mse", True, seed=6, length=length)
    _, full = ref.bptt(params, x, y, "mse", h0)
    errors = []
    for k in (length, 8, 4, 2, 1):
        _, cut = ref.bptt(params, x, y, "mse", h0, truncate=k)
        errors.append(ref.relative_error(cut["weight_hh"], full["weight_hh"]))
    assert errors[0] < 1e-13 and errors[1] > 1e-3, errors
    assert all(a < b for a, b in itertools.pairwise(errors)), errors
    # V and c never depend on the past, so truncation leaves them exact
    np.testing.assert_allclose(cut["weight_ho"], full["weight_ho"], rtol=1e-12)


def test_window_of_one_keeps_only_the_immediate_terms():
    params, x, y, _ = make_problem(False, "mse", False, seed=7)
    S, out, cache = ref.rnn_forward(params, x)
    _, dO = ref.mse_loss(out, y)
    dA = ref.d_tanh(cache["A"]) * (dO @ params["weight_ho"])  # no flow from the future
    S_prev = np.concatenate([np.zeros((1, H)), S[:-1]])
    _, grads = ref.bptt(params, x, y, truncate=1)
    np.testing.assert_allclose(grads["weight_hh"], dA.T @ S_prev, rtol=1e-12)
    np.testing.assert_allclose(grads["weight_ih"], dA.T @ x, rtol=1e-12)


def _torch_rnn(params):
    rnn = torch.nn.RNN(H_IN, H, dtype=torch.float64)
    rnn.load_state_dict(ref.split_torch_state_dict(ref.to_torch_state_dict(params))[0])
    return rnn


def test_window_truncation_equals_autograd_with_the_graph_cut_k_steps_before_each_term():
    length, k = 7, 3
    params, x, y, _ = make_problem(False, "mse", False, seed=8, length=length)
    _, grads = ref.bptt(params, x, y, "mse", truncate=k)
    rnn = _torch_rnn(params)
    V, c = (torch.from_numpy(params[n]) for n in ("weight_ho", "bias_ho"))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for t in range(length):  # L_t reaches S_{t-k+1} .. S_t only
        h = torch.zeros(1, H, dtype=torch.float64)
        for i in range(t + 1):
            h = (h.detach() if i == t - k + 1 else h)
            h = rnn(xt[i : i + 1], h)[1]
        ((h[0] @ V.T + c - yt[t]) ** 2).sum().div(y.size).backward()
    torch.testing.assert_close(torch.from_numpy(grads["weight_hh"]), rnn.weight_hh_l0.grad)
    torch.testing.assert_close(torch.from_numpy(grads["weight_ih"]), rnn.weight_ih_l0.grad)


def test_chunk_truncation_equals_autograd_with_the_state_detached_between_chunks():
    length, k = 7, 3
    params, x, y, h0 = make_problem(True, "mse", True, seed=9, length=length)
    _, grads = ref.bptt(params, x, y, "mse", h0, truncate=k, truncation="chunk")
    rnn = _torch_rnn(params)
    V, c = (torch.from_numpy(params[n]) for n in ("weight_ho", "bias_ho"))
    h = torch.from_numpy(h0)[None]
    for start in range(0, length, k):
        S, h = rnn(torch.from_numpy(x[start : start + k]), h.detach())
        ((S @ V.T + c - torch.from_numpy(y[start : start + k])) ** 2).sum().div(y.size).backward()
    torch.testing.assert_close(torch.from_numpy(grads["weight_hh"]), rnn.weight_hh_l0.grad)
    torch.testing.assert_close(torch.from_numpy(grads["bias_ih"]), rnn.bias_ih_l0.grad)


def test_both_hidden_biases_get_the_gradient_of_their_sum():
    params, x, y, h0 = make_problem(True, "mse", True)
    _, grads = ref.bptt(params, x, y, "mse", h0)
    np.testing.assert_array_equal(grads["bias_ih"], grads["bias_hh"])
    assert grads["bias_ih"] is not grads["bias_hh"]


def test_bptt_does_not_change_the_inputs():
    params, x, y, h0 = make_problem(True, "mse", True)
    before = {k: v.copy() for k, v in params.items()}
    ref.bptt(params, x, y, "mse", h0, truncate=2)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"truncate": 0}, ValueError, "truncate must be None or an int >= 1, got 0"),
        ({"truncate": 1.5}, TypeError, "truncate must be None or an int >= 1, got float"),
        ({"truncation": "tail"}, ValueError, r"truncation must be one of \('window', 'chunk'\)"),
        ({"loss": "nll"}, ValueError, r"loss must be one of \['cross_entropy', 'mse'\]"),
        ({"nonlinearity": "sigmoid"}, ValueError, "unknown nonlinearity 'sigmoid'"),
    ],
)
def test_bptt_rejects_bad_options(kwargs, error, message):
    params, x, y, _ = make_problem(False, "mse", False)
    with pytest.raises(error, match=message):
        ref.bptt(params, x, y, **kwargs)


def test_bptt_rejects_wrong_targets_and_missing_output_layer():
    params, x, y, _ = make_problem(True, "mse", False)
    with pytest.raises(ValueError, match=r"shape of pred \(5, 2, 3\), got \(5, 3\)"):
        ref.bptt(params, x, y[:, 0])
    with pytest.raises(TypeError, match="integers"):
        ref.bptt(params, x, y, loss="cross_entropy")
    no_out = {k: v for k, v in params.items() if k not in ("weight_ho", "bias_ho")}
    with pytest.raises(ValueError, match="needs an output layer"):
        ref.bptt(no_out, x, y)


def test_rnn_backward_rejects_bad_gradients_and_cache():
    params, x, _, _ = make_problem(True, "mse", False)
    S, out, cache = ref.rnn_forward(params, x)
    with pytest.raises(ValueError, match="give dS, dO or both"):
        ref.rnn_backward(params, cache)
    with pytest.raises(ValueError, match=r"dS must have the shape of S \(5, 2, 4\), got \(5, 4\)"):
        ref.rnn_backward(params, cache, dS=np.zeros((L, H)))
    with pytest.raises(ValueError, match=r"dO must have the shape of O \(5, 2, 3\), got"):
        ref.rnn_backward(params, cache, dO=np.zeros((L, N, 2)))
    with pytest.raises(TypeError, match="cache must be the dict returned by rnn_forward"):
        ref.rnn_backward(params, (S, out))
    no_out = {k: v for k, v in params.items() if k not in ("weight_ho", "bias_ho")}
    with pytest.raises(ValueError, match="no output layer"):
        ref.rnn_backward(no_out, cache, dO=np.zeros_like(out))
