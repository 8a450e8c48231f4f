"""The sliders a lecturer drags answer at once; every other widget keeps Panel's debounce."""

import panel as pn

from app.controls import DRAG_DEBOUNCE_MS, answer_drags_at_once
from app.lessons import Derivative, GradientDescent

PANEL_DEFAULT_MS = pn.widgets.FloatSlider._debounce


def test_dragged_sliders_have_no_debounce():
    assert DRAG_DEBOUNCE_MS == 0 and PANEL_DEFAULT_MS == 50
    derivative, descent = Derivative(), GradientDescent()
    for slider in (derivative.w_slider, derivative.h_slider, descent.lr_slider,
                   descent.shown_input):  # Step downhill's hidden input
        assert slider._debounce == DRAG_DEBOUNCE_MS


def test_other_widgets_keep_panels_debounce():
    derivative, descent = Derivative(), GradientDescent()
    for widget in (derivative.descent_lr_slider, derivative.descent_steps_slider,
                   descent.speed_slider, descent.steps_slider):
        assert widget._debounce == PANEL_DEFAULT_MS
    assert pn.widgets.FloatSlider._debounce == PANEL_DEFAULT_MS  # the class is untouched


def test_answer_drags_at_once_sets_only_the_given_instances():
    first, second, third = (pn.widgets.FloatSlider() for _ in range(3))
    assert answer_drags_at_once(first) is first
    assert answer_drags_at_once(second, third) == (second, third)
    assert [w._debounce for w in (first, second, third)] == [0, 0, 0]
    assert pn.widgets.FloatSlider()._debounce == PANEL_DEFAULT_MS
