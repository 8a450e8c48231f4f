"""Live oracle: every landscape's numpy loss, gradient and Hessian equal torch.autograd of the
landscape's formula typed again in torch (scripts/torch_reference.py), at seeded random points
in its display bounds; data landscapes also on mini-batches (batch=)."""

import numpy as np
import pytest

import landscapes
from tests.oracle import cases as C

pytestmark = pytest.mark.oracle
pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tr():
    from scripts import torch_reference

    return torch_reference


def test_every_landscape_and_curve_has_a_torch_formula(tr):
    typed = set(tr.FORMULAS) | set(tr.DATA_FORMULAS)
    assert set(landscapes.names()) <= typed, set(landscapes.names()) - typed
    assert set(landscapes.curves()) <= set(tr.CURVE_FORMULAS)


def _check(landscape, reference, points, batch=None, what=""):
    loss, grad, hessian = reference
    kwargs = {} if batch is None else {"batch": batch}
    C.assert_pointwise_close(landscape.loss(points, **kwargs), loss, 0, C.LOSS_RTOL,
                             f"{landscape.id} loss{what}")
    C.assert_pointwise_close(landscape.grad(points, **kwargs), grad, 1, C.GRAD_RTOL,
                             f"{landscape.id} grad{what}")
    if landscape.hessian is not None:
        C.assert_pointwise_close(landscape.hessian(points, **kwargs), hessian, 2, C.GRAD_RTOL,
                                 f"{landscape.id} hessian{what}")


@pytest.mark.parametrize("landscape_id", landscapes.names())
def test_loss_grad_and_hessian_equal_torch_autograd(tr, landscape_id):
    landscape = landscapes.get(landscape_id)
    points = C.sample_points(landscape_id, landscape.bounds)
    data = getattr(landscape, "data", None)
    _check(landscape, tr.autograd(landscape_id, points, data), points)


@pytest.mark.parametrize("landscape_id",
                         [i for i in landscapes.names() if hasattr(landscapes.get(i), "data")])
def test_minibatch_loss_grad_and_hessian_equal_torch_autograd(tr, landscape_id):
    landscape = landscapes.get(landscape_id)
    points = C.sample_points(landscape_id, landscape.bounds)
    for batch in C.sample_batches(landscape_id, len(landscape.data[0])):
        reference = tr.autograd(landscape_id, points, landscape.data, batch=batch)
        _check(landscape, reference, points, batch=batch, what=f" on batch of {len(batch)}")


@pytest.mark.parametrize("curve_id", landscapes.curves())
def test_curve_derivatives_equal_torch_autograd(tr, curve_id):
    curve = landscapes.curve(curve_id)
    w = C.sample_curve_points(curve_id, curve.bounds)
    loss, first, second = tr.curve_autograd(curve_id, w)
    C.assert_pointwise_close(curve.loss(w), loss, 0, C.LOSS_RTOL, f"{curve_id} loss")
    C.assert_pointwise_close(curve.grad(w), first, 0, C.GRAD_RTOL, f"{curve_id} grad")
    C.assert_pointwise_close(curve.hessian(w), second, 0, C.GRAD_RTOL, f"{curve_id} hessian")


def test_hessian_is_none_only_where_torch_finds_a_kink(tr):
    """Landscapes without a Hessian must really be non-smooth somewhere in their bounds: Ackley's
    √(x² + y²) has no derivative at the origin (torch's autograd gives NaN there)."""
    for landscape_id in landscapes.names():
        if landscapes.get(landscape_id).hessian is None:
            loss, grad, _ = tr.autograd(landscape_id, np.zeros((1, 2)))
            assert not np.all(np.isfinite(grad)), landscape_id
