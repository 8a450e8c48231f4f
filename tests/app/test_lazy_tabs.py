"""A new page builds only its first lesson; each other lesson is built when its tab opens."""

import panel as pn
import pytest

from app.lessons import Backpropagation, Derivative, GradientDescent, StochasticAdaptive
from app.main import LOADING_HTML, build_page

KINDS = [Derivative, GradientDescent, Backpropagation, StochasticAdaptive]


def test_a_new_page_builds_only_the_first_lesson():
    lazy = build_page().lessons
    assert [lazy.is_built(i) for i in range(4)] == [True, False, False, False]
    assert isinstance(lazy.lesson(0), Derivative)
    for index in (1, 2, 3):
        placeholder = lazy.tabs[index]
        assert isinstance(placeholder, pn.pane.HTML) and placeholder.object == LOADING_HTML
    assert lazy.tabs._names == ["Derivative", "Gradient descent", "Backpropagation",
                                "Stochastic & adaptive"]


@pytest.mark.parametrize("index", [1, 2, 3])
def test_opening_a_tab_builds_its_lesson_once_and_shows_it(index):
    lazy = build_page().lessons
    lazy.tabs.active = index
    assert lazy.is_built(index)
    lesson = lazy.lesson(index)
    assert isinstance(lesson, KINDS[index])
    assert not isinstance(lazy.tabs[index], pn.pane.HTML)  # the placeholder is gone
    assert lazy.tabs.active == index
    lazy.tabs.active = 0
    lazy.tabs.active = index
    assert lazy.lesson(index) is lesson  # built once, kept when the tab is left
    assert [lazy.is_built(i) for i in range(4)] == [i in (0, index) for i in range(4)]


def test_lesson_builds_a_hidden_lesson_on_demand_without_switching_tabs():
    lazy = build_page().lessons
    descent = lazy.lesson(1)
    assert isinstance(descent, GradientDescent)
    assert lazy.tabs.active == 0
    assert not isinstance(lazy.tabs[1], pn.pane.HTML)


def test_two_pages_never_share_a_lazily_built_lesson():
    first, second = build_page().lessons, build_page().lessons
    first.tabs.active = second.tabs.active = 1
    assert first.lesson(1) is not second.lesson(1)
    assert first.lesson(1).landscape_figure is not second.lesson(1).landscape_figure
