"""Widgets shared by the lessons: a slider on a log scale, linked to a positive parameter, and
sliders that answer a drag at once."""

import math

import panel as pn

from app.theme import log_tick_formatter
from app.upstream_patches import set_debounce

# Panel holds every browser->server widget change for 50 ms (its private `_debounce`) before
# running the callbacks, so a dragged slider answered ~55 ms late (a pure Bokeh slider: ~9 ms).
# For the sliders a lecturer drags, whose callbacks take a few ms (w, h: ~3 ms; η in lesson 2:
# ~10 ms) we answer at once. Changes that arrive before the pending callback runs still merge
# into one (Panel keeps only the latest value of a property while its change is pending), and
# a drag sends at most one change per animation frame, so a fast drag cannot pile up work.
DRAG_DEBOUNCE_MS = 0


def answer_drags_at_once(*widgets):
    """Run these widgets' callbacks as soon as a change arrives (no 50 ms debounce)."""
    for widget in widgets:
        set_debounce(widget, DRAG_DEBOUNCE_MS)
    return widgets[0] if len(widgets) == 1 else widgets


def log_slider(owner, name, label, low, high, step=0.01, **options):
    """A slider that moves over log10 of the positive parameter `owner.<name>`.

    The slider shows the value itself (0.001, 0.1, 3, ...). Dragging sets the parameter to
    10**position; setting the parameter (typed entry, code, a link) moves the slider. Values
    outside [low, high] pin the slider to its end without changing the parameter.
    """
    low_exp, high_exp = math.log10(low), math.log10(high)

    def position(value):
        return min(max(math.log10(value), low_exp), high_exp)

    slider = pn.widgets.FloatSlider(
        label=label,
        start=low_exp,
        end=high_exp,
        step=step,
        value=position(getattr(owner, name)),
        format=log_tick_formatter(),
        **options,
    )

    def slider_moved(event):
        current = getattr(owner, name)
        if not (math.isfinite(event.new) and low_exp <= event.new <= high_exp):
            # Only a scripted client sends this (the slider cannot): the slider goes back to
            # where the parameter is, and the parameter stays.
            slider.value = position(current)
            return
        # The slider echoes a value the parameter just set: keep the parameter's exact value.
        if abs(position(current) - event.new) > 1e-9:
            setattr(owner, name, 10.0**event.new)

    def parameter_changed(event):
        if abs(slider.value - position(event.new)) > 1e-9:
            slider.value = position(event.new)

    slider.param.watch(slider_moved, "value")
    owner.param.watch(parameter_changed, name)
    return answer_drags_at_once(slider)
