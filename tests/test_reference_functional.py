"""rnnlib.reference.functional: activations, derivatives and losses against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlib import reference as ref

A = np.linspace(-4.0, 4.0, 41)


@pytest.mark.parametrize(
    ("f", "torch_f"),
    [(ref.sigmoid, torch.sigmoid), (ref.tanh, torch.tanh), (ref.relu, torch.relu)],
)
def test_activation_equals_torch(f, torch_f):
    np.testing.assert_allclose(f(A), torch_f(torch.from_numpy(A)).numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    ("df", "torch_f"),
    [(ref.d_sigmoid, torch.sigmoid), (ref.d_tanh, torch.tanh), (ref.d_relu, torch.relu)],
)
def test_derivative_of_preactivation_equals_autograd(df, torch_f):
    a = torch.from_numpy(A + 0.05).requires_grad_()  # avoid relu's kink at exactly 0
    torch_f(a).sum().backward()
    np.testing.assert_allclose(df(A + 0.05), a.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_derivative_bounds_match_the_source():
    assert ref.d_sigmoid(A).max() == pytest.approx(0.25)
    assert ref.d_tanh(A).max() == pytest.approx(1.0)
    assert set(np.unique(ref.d_relu(A))) == {0.0, 1.0}


def test_sigmoid_does_not_overflow():
    with np.errstate(over="raise"):
        out = ref.sigmoid(np.array([-1000.0, 1000.0]))
    np.testing.assert_array_equal(out, [0.0, 1.0])


def test_softmax_rows_sum_to_one_and_equal_torch():
    z = np.random.default_rng(0).normal(size=(3, 5)) * 50
    p = ref.softmax(z)
    np.testing.assert_allclose(p.sum(-1), 1.0)
    np.testing.assert_allclose(p, torch.softmax(torch.from_numpy(z), -1).numpy(), rtol=1e-12)


def test_mse_loss_and_gradient_equal_torch():
    rng = np.random.default_rng(1)
    pred, target = rng.normal(size=(4, 3, 2)), rng.normal(size=(4, 3, 2))
    loss, dpred = ref.mse_loss(pred, target)
    p = torch.from_numpy(pred).requires_grad_()
    expected = torch.nn.functional.mse_loss(p, torch.from_numpy(target))
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(dpred, p.grad.numpy(), rtol=1e-12)


def test_cross_entropy_and_gradient_equal_torch_with_ignored_targets():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(6, 4, 5))
    targets = rng.integers(0, 5, size=(6, 4))
    targets[:2] = ref.IGNORE_INDEX
    loss, dlogits = ref.cross_entropy(logits, targets)
    z = torch.from_numpy(logits).requires_grad_()
    y = torch.from_numpy(targets).ravel()
    expected = torch.nn.functional.cross_entropy(z.reshape(-1, 5), y)
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(dlogits, z.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_cross_entropy_is_stable_for_huge_logits():
    loss, grad = ref.cross_entropy(np.array([[1000.0, -1000.0]]), np.array([1]))
    assert loss == pytest.approx(2000.0)
    assert np.isfinite(grad).all()


def test_mse_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"shape of pred \(2, 3\), got \(3, 2\)"):
        ref.mse_loss(np.zeros((2, 3)), np.zeros((3, 2)))


def test_cross_entropy_rejects_float_targets():
    with pytest.raises(TypeError, match="integers, got dtype float64"):
        ref.cross_entropy(np.zeros((2, 3)), np.zeros(2))


def test_cross_entropy_rejects_wrong_target_shape_and_range():
    with pytest.raises(ValueError, match=r"shape \(2,\).*got \(3,\)"):
        ref.cross_entropy(np.zeros((2, 3)), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        ref.cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
