"""rnnlib.reference.gradcheck: finite differences, relative error, the checker's report."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlib import reference as ref


def quadratic(p):
    """f = x^T A x + sum(B * y) with known gradients (A + A^T) x and B."""
    return float(p["x"] @ A @ p["x"] + np.sum(B * p["y"]))


A = np.arange(9.0).reshape(3, 3)
B = np.array([[1.0, -2.0], [0.5, 3.0]])
POINT = {"x": np.array([1.0, -1.0, 2.0]), "y": np.ones((2, 2))}
EXACT = {"x": (A + A.T) @ POINT["x"], "y": B}


def test_numerical_gradient_of_a_known_function():
    g = ref.numerical_gradient(quadratic, POINT)
    for k in POINT:
        np.testing.assert_allclose(g[k], EXACT[k], rtol=1e-8)


def test_numerical_gradient_leaves_the_callers_arrays_alone_and_accepts_ints():
    point = {"x": np.array([1, -1, 2]), "y": np.ones((2, 2), dtype=np.float32)}
    before = {k: v.copy() for k, v in point.items()}
    g = ref.numerical_gradient(quadratic, point)
    assert g["x"].dtype == np.float64 and g["y"].shape == (2, 2)
    for k in point:
        np.testing.assert_array_equal(point[k], before[k])
        assert point[k].dtype == before[k].dtype


def test_relative_error_is_normwise_symmetric_and_zero_for_zeros():
    a, b = np.array([3.0, 4.0]), np.array([3.0, 4.5])
    assert ref.relative_error(a, b) == pytest.approx(0.5 / np.linalg.norm(b))
    assert ref.relative_error(a, b) == ref.relative_error(b, a)
    assert ref.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert ref.relative_error(np.zeros(3), np.ones(3)) == 1.0
    with pytest.raises(ValueError, match=r"shapes differ, \(2,\) and \(3,\)"):
        ref.relative_error(np.zeros(2), np.zeros(3))


def test_gradcheck_returns_the_largest_error_for_correct_gradients():
    assert ref.gradcheck(quadratic, POINT, EXACT) < 1e-8


def test_gradcheck_reports_every_parameter_and_flags_the_wrong_one():
    wrong = dict(EXACT, y=EXACT["y"] * 1.01)
    with pytest.raises(AssertionError) as info:
        ref.gradcheck(quadratic, POINT, wrong)
    report = str(info.value)
    assert "gradient check failed" in report
    assert [line.split()[-1] for line in report.splitlines()[1:]] == ["ok", "FAIL"]
    assert "shape (2, 2)" in report


def test_gradcheck_can_return_instead_of_raising():
    wrong = dict(EXACT, x=-EXACT["x"])
    assert ref.gradcheck(quadratic, POINT, wrong, raise_on_failure=False) == pytest.approx(2.0)


def test_gradient_errors_gives_one_number_per_parameter_and_ignores_extra_grads():
    errors = ref.gradient_errors(quadratic, POINT, dict(EXACT, h0=np.zeros(4)))
    assert sorted(errors) == ["x", "y"] and max(errors.values()) < 1e-8


def test_gradcheck_rejects_missing_or_misshapen_gradients_and_bad_eps():
    with pytest.raises(ValueError, match=r"grads has no entry 'y'; it has \['x'\]"):
        ref.gradcheck(quadratic, POINT, {"x": EXACT["x"]})
    with pytest.raises(ValueError, match=r"grads\['x'\] must have shape \(3,\), got \(2,\)"):
        ref.gradcheck(quadratic, POINT, dict(EXACT, x=np.zeros(2)))
    with pytest.raises(ValueError, match="eps must be positive, got 0"):
        ref.numerical_gradient(quadratic, POINT, eps=0)
    with pytest.raises(TypeError, match="dict of arrays, got list"):
        ref.numerical_gradient(quadratic, [1.0])
