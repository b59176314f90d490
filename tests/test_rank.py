import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from near import InputError, ZeroMatrixWarning, effective_rank, effective_ranks
from near.rank import gram_effective_ranks, singular_values

finite = st.floats(-100, 100, allow_nan=False, allow_infinity=False)
matrices = st.integers(1, 8).flatmap(
    lambda m: st.integers(1, 8).flatmap(lambda n: arrays(np.float64, (m, n), elements=finite))
)


def nonzero(matrix: np.ndarray) -> bool:
    return np.linalg.norm(matrix) > 1e-6


@pytest.mark.parametrize("n", [1, 2, 5, 64])
def test_identity_has_full_effective_rank(n):
    assert effective_rank(torch.eye(n)) == pytest.approx(n, rel=1e-12)


def test_rank_one_matrix_has_effective_rank_one():
    u, v = torch.randn(7, 1, dtype=torch.float64), torch.randn(1, 5, dtype=torch.float64)
    assert effective_rank(u @ v) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("rho", [0.0, 0.3, -0.5, 0.9])
def test_circulant_matches_closed_form(rho):
    first_row = [1, rho, rho**2, rho]
    matrix = torch.tensor(np.array([np.roll(first_row, k) for k in range(4)]), dtype=torch.float64)
    sigma = np.array([(1 + abs(rho)) ** 2, 1 - rho**2, 1 - rho**2, (1 - abs(rho)) ** 2])
    p = sigma / sigma.sum()
    expected = math.exp(-sum(x * math.log(x) for x in p if x > 0))
    assert effective_rank(matrix) == pytest.approx(expected, rel=1e-10)


def test_equal_singular_values_give_their_count():
    q, _ = torch.linalg.qr(torch.randn(6, 6, dtype=torch.float64))
    assert effective_rank(q[:, :3] @ torch.diag(torch.tensor([2.0, 2.0, 2.0], dtype=torch.float64)) @ q[:3]) == (
        pytest.approx(3.0, rel=1e-9)
    )


@settings(max_examples=60, deadline=None)
@given(matrices, st.floats(1e-3, 1e3))
def test_scale_invariance(matrix, scale):
    if nonzero(matrix):
        assert effective_rank(matrix * scale) == pytest.approx(effective_rank(matrix), rel=1e-7)


@settings(max_examples=60, deadline=None)
@given(matrices)
def test_bounded_by_one_and_the_rank(matrix):
    if nonzero(matrix):
        erank = effective_rank(matrix)
        assert 1 - 1e-9 <= erank <= np.linalg.matrix_rank(matrix) + 1e-6


@settings(max_examples=40, deadline=None)
@given(matrices, st.randoms(use_true_random=False))
def test_invariant_to_row_and_column_permutations(matrix, random):
    if nonzero(matrix):
        rows, cols = list(range(matrix.shape[0])), list(range(matrix.shape[1]))
        random.shuffle(rows)
        random.shuffle(cols)
        assert effective_rank(matrix[rows][:, cols]) == pytest.approx(effective_rank(matrix), rel=1e-9)


def test_batched_form_matches_single_calls():
    stack = torch.randn(5, 6, 4)
    assert np.allclose(effective_ranks(stack), [effective_rank(m) for m in stack], rtol=1e-12)
    assert effective_ranks(torch.randn(2, 3, 5, 5)).shape == (2, 3)


def test_numpy_input_and_float32_precision_agree():
    matrix = np.random.default_rng(0).normal(size=(10, 10))
    assert effective_rank(matrix) == pytest.approx(effective_rank(matrix, dtype=torch.float32), rel=1e-5)


def test_zero_matrix_counts_zero_with_a_warning():
    with pytest.warns(ZeroMatrixWarning, match="all-zero"):
        assert effective_rank(torch.zeros(3, 3)) == 0.0


@pytest.mark.parametrize(
    "bad, message",
    [
        (torch.ones(3), "shape"),
        (torch.ones(0, 3), "non-empty"),
        (torch.tensor([[1.0, float("nan")]]), "NaN"),
        (np.array([["a", "b"]]), "numeric"),
        ([[1.0, 2.0]], "torch.Tensor or numpy.ndarray"),
    ],
)
def test_bad_matrices_raise_clear_errors(bad, message):
    with pytest.raises(InputError, match=message):
        effective_rank(bad)


def test_singular_values_shared_among_threads_are_those_of_one_batched_call():
    stack = torch.randn(7, 3, 12, 12, dtype=torch.float64)
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        shared = singular_values(stack)
    finally:
        torch.set_num_threads(previous)
    assert torch.equal(shared, torch.linalg.svdvals(stack))  # bit for bit, in the same order


def test_singular_values_work_in_a_forked_child_after_the_parent_used_its_threads():
    import multiprocessing

    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        singular_values(torch.randn(4, 5, 5))  # the parent's pool exists now
        with multiprocessing.get_context("fork").Pool(1) as pool:
            assert pool.apply_async(_child_singular_values).get(timeout=60) == 4
    finally:
        torch.set_num_threads(previous)


def _child_singular_values() -> int:
    torch.set_num_threads(2)
    return len(singular_values(torch.randn(4, 5, 5)))


# -- the Gram route NEAR takes: eigenvalues of AᵀA -------------------------------------------------------------


def test_gram_route_gives_the_closed_forms():
    rho = 0.3
    circulant = torch.tensor(np.array([np.roll([1, rho, rho**2, rho], k) for k in range(4)]), dtype=torch.float64)
    sigma = np.array([(1 + rho) ** 2, 1 - rho**2, 1 - rho**2, (1 - rho) ** 2])
    p = sigma / sigma.sum()
    u, v = torch.randn(6, 1, dtype=torch.float64), torch.randn(1, 6, dtype=torch.float64)
    ranks = gram_effective_ranks(torch.stack([torch.eye(4, dtype=torch.float64), circulant])).tolist()
    assert ranks == pytest.approx([4.0, math.exp(-(p * np.log(p)).sum())], rel=1e-12)
    assert gram_effective_ranks((u @ v)[None]).item() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("scale", [1e-30, 1.0, 1e30, 1e300])
def test_gram_route_matches_the_svd_at_any_scale(scale):
    stack = torch.relu(torch.randn(20, 16, 16, dtype=torch.float64)) * scale  # float64 AᵀA alone would overflow
    expected = effective_ranks(stack)
    assert gram_effective_ranks(stack).numpy() == pytest.approx(expected, rel=1e-10)


def test_gram_route_stays_within_float32_rounding_of_the_svd_on_rank_deficient_matrices():
    # as a network computes them: in float32, so that the zero singular values are rounding noise already
    low_rank = torch.randn(30, 64, 3) @ torch.randn(30, 3, 64)
    nearly_rank_one = torch.randn(30, 10, 1) @ torch.randn(30, 1, 10) + 1e-6 * torch.randn(30, 10, 10)
    for stack in (low_rank.double(), nearly_rank_one.double()):
        assert gram_effective_ranks(stack).numpy() == pytest.approx(effective_ranks(stack), rel=1e-6)


def test_gram_route_gives_nan_for_an_all_zero_matrix():
    ranks = gram_effective_ranks(torch.stack([torch.zeros(3, 3), torch.eye(3)]).double())
    assert math.isnan(ranks[0]) and ranks[1] == pytest.approx(3.0)
