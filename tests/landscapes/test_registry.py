"""names()/get()/curves()/curve() and the declare-a-class-to-register rule."""

import numpy as np
import pytest

import landscapes
from landscapes import _base

REQUIRED = [
    "bowl", "round-bowl", "valley", "rosenbrock", "beale", "himmelblau", "booth",
    "six-hump-camel", "rastrigin", "ackley", "styblinski-tang", "goldstein-price", "saddle",
    "plateau-saddle", "line-fit", "logistic",
]  # fmt: skip


@pytest.fixture
def scratch_registry():
    """Lets a test declare landscapes and curves without leaving them registered."""
    saved = dict(_base._LANDSCAPES), dict(_base._CURVES), dict(_base._INSTANCES)
    yield
    for registry, before in zip(
        (_base._LANDSCAPES, _base._CURVES, _base._INSTANCES), saved, strict=True
    ):
        registry.clear()
        registry.update(before)


def test_names_start_with_the_lessons_bowl_and_hold_every_required_landscape():
    names = landscapes.names()
    assert names[0] == "bowl"
    assert set(REQUIRED) <= set(names)
    assert len(set(names)) == len(names)


def test_names_follow_the_teaching_order_quadratics_then_test_functions_saddles_and_data():
    names = landscapes.names()
    order = [names.index(i) for i in ("bowl", "valley", "rosenbrock", "saddle", "line-fit")]
    assert order == sorted(order)
    assert names[-2:] == ["line-fit", "logistic"]


def test_get_returns_the_landscape_with_that_id():
    for name in landscapes.names():
        landscape = landscapes.get(name)
        assert isinstance(landscape, landscapes.Landscape)
        assert landscape.id == name
        assert landscapes.get(name) is landscape  # stateless, so one shared instance


def test_unknown_landscape_id_raises_a_key_and_value_error_naming_the_choices():
    with pytest.raises(KeyError) as caught:
        landscapes.get("bowll")
    assert isinstance(caught.value, ValueError)
    message = str(caught.value)
    assert "'bowll'" in message and "bowl, round-bowl" in message


def test_curves_are_listed_apart_from_the_landscapes():
    assert landscapes.curves() == ["square", "shifted"]
    assert not set(landscapes.curves()) & set(landscapes.names())
    assert landscapes.curve("square").id == "square"
    with pytest.raises(ValueError, match="unknown curve 'bowl'"):
        landscapes.curve("bowl")


def test_declaring_a_class_with_an_id_registers_it(scratch_registry):
    class Cone(landscapes.Landscape):
        """f = |x| + |y|"""

        id = "test-cone"
        title = "Cone"
        formula = r"|x| + |y|"
        description = "A cone."
        bounds = ((-1, 1), (-1, 1))
        minima = ((0, 0),)
        min_value = 0.0
        start = (1, 1)
        lr = 0.1
        smooth = False
        hessian = None

        def _loss(self, x, y):
            return np.abs(x) + np.abs(y)

        def _grad(self, x, y):
            return np.sign(x), np.sign(y)

    assert landscapes.names()[-1] == "test-cone"
    cone = landscapes.get("test-cone")
    assert isinstance(cone, Cone)
    assert cone.start == (1.0, 1.0) and cone.bounds == ((-1.0, 1.0), (-1.0, 1.0))
    np.testing.assert_array_equal(cone.grad([[0.5, -2.0]]), [[1.0, -1.0]])


def test_a_class_without_an_id_is_a_base_and_not_registered(scratch_registry):
    class Family(landscapes.Landscape):
        pass

    assert "Family" not in landscapes.names() and len(landscapes.names()) == len(_base._LANDSCAPES)
    assert all(cls is not Family for cls in _base._LANDSCAPES.values())


def test_declaring_without_a_learning_rate_is_refused(scratch_registry):
    with pytest.raises(TypeError, match="must declare lr"):

        class NoRate(landscapes.Landscape):
            id = "test-no-rate"
            title = formula = description = "x"
            bounds = ((-1, 1), (-1, 1))
            start = (0, 0)

            def _loss(self, x, y):
                return x

            def _grad(self, x, y):
                return 1.0, 0.0

            def _hessian(self, x, y):
                return 0.0, 0.0, 0.0


def test_a_landscape_must_write_its_hessian_or_declare_it_none(scratch_registry):
    with pytest.raises(TypeError, match="hessian = None"):

        class Silent(landscapes.Landscape):
            id = "test-silent"
            title = formula = description = "x"
            bounds = ((-1, 1), (-1, 1))
            start = (0, 0)
            lr = 0.1

            def _loss(self, x, y):
                return x

            def _grad(self, x, y):
                return 1.0, 0.0


def test_an_id_cannot_be_declared_twice(scratch_registry):
    with pytest.raises(TypeError, match="'bowl' is declared twice"):

        class SecondBowl(type(landscapes.get("bowl"))):
            id = "bowl"


def test_points_without_a_last_axis_of_two_are_refused():
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        landscapes.get("bowl").loss(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        landscapes.get("line-fit").grad(1.0)
