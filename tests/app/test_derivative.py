"""Lesson 1 without a browser: the numbers the derivative lesson puts on screen."""

import html
import math

import numpy as np
import panel as pn
import pytest

import landscapes
from app.derivative import (
    Derivative,
    central_difference,
    direction_sentence,
    forward_difference,
    line_through,
    positive_or_nan,
)

square = landscapes.curve("square").loss


def test_secant_slopes_at_1_are_2_1_then_2_01_then_2_001():
    lesson = Derivative()
    slopes = lesson.secant_slopes
    assert [round(slopes[h], 9) for h in (0.1, 0.01, 0.001)] == [2.1, 2.01, 2.001]
    html = lesson.secant_table.object
    assert "<b>2.1</b>" in html and "<b>2.01</b>" in html and "<b>2.001</b>" in html


def test_forward_difference_of_w_squared_is_2w_plus_h():
    h = np.array([0.5, 0.25, 0.125])  # powers of two: exact in floating point
    assert np.array_equal(forward_difference(square, 1.0, h), 2.0 + h)


def test_central_difference_of_w_squared_is_exact_for_exactly_representable_h():
    h = np.array([0.5, 0.25, 0.125])
    assert np.array_equal(central_difference(square, 1.5, h), np.full(3, 3.0))


def test_central_difference_matches_the_chain_rule_example_6_09_at_h_0_01():
    # LESSONS.md: (3x+1)² at 0 has derivative 6; the forward estimate with h = 0.01 is 6.09.
    def loss(x):
        return (3 * x + 1) ** 2

    assert math.isclose(forward_difference(loss, 0.0, 0.01), 6.09, rel_tol=1e-12)
    assert math.isclose(central_difference(loss, 0.0, 0.01), 6.0, rel_tol=1e-12)


def test_line_through_has_the_slope_and_passes_through_the_point():
    ws, values = line_through(1.0, 1.0, 2.0, 0.5)
    assert list(ws) == [0.5, 1.5]
    assert list(values) == [0.0, 2.0]


def test_zero_errors_become_gaps_on_the_log_axis():
    out = positive_or_nan([0.0, -2.0, 1e-3])
    assert math.isnan(out[0]) and list(out[1:]) == [2.0, 1e-3]


@pytest.mark.parametrize(
    ("slope", "sentence"),
    [(2.0, "slope > 0 → step left"), (-1.0, "slope < 0 → step right"),
     (0.0, "slope 0 → at the bottom")],
)
def test_direction_sentence(slope, sentence):
    assert direction_sentence(slope) == sentence


def test_w_slider_moves_the_tangent_and_prints_its_slope():
    lesson = Derivative()
    lesson.w = -1.5
    tangent = lesson.tangent_source.data
    ws, values = np.asarray(tangent["w"]), np.asarray(tangent["loss"])
    slope = (values[1] - values[0]) / (ws[1] - ws[0])
    assert math.isclose(slope, -3.0)
    assert math.isclose(np.interp(-1.5, ws, values), 2.25)
    assert lesson.point_source.data == {"w": [-1.5], "loss": [2.25]}
    assert "slope &lt; 0 → step right" in lesson.slope_readout.object
    assert lesson.direction_label.text == "slope < 0 → step right"
    assert lesson.step_arrow_source.data["x1"][0] > -1.5  # the arrow points right


def test_at_the_bottom_there_is_no_arrow():
    lesson = Derivative(w=0.0)
    assert lesson.direction_label.text == "slope 0 → at the bottom"
    assert list(lesson.step_arrow_source.data["x0"]) == []


def test_h_slider_moves_the_secant_and_reports_the_error():
    lesson = Derivative(w=1.0, h=0.5)
    secant = lesson.secant_source.data
    slope = (secant["loss"][1] - secant["loss"][0]) / (secant["w"][1] - secant["w"][0])
    assert math.isclose(slope, 2.0)
    # The secant passes through (w ± h, L(w ± h)) = (0.5, 0.25) and (1.5, 2.25).
    assert math.isclose(np.interp(1.5, secant["w"], secant["loss"]), 2.25)
    assert lesson.secant_points_source.data == {"w": [0.5, 1.5], "loss": [0.25, 2.25]}
    assert "0 (exact)" in lesson.slope_readout.object
    lesson.h = 1e-9
    assert math.isclose(lesson.error_current_source.data["h"][0], 1e-9)
    assert "0 (exact)" not in lesson.slope_readout.object


def test_error_curves_show_truncation_falling_and_round_off_rising():
    lesson = Derivative(w=1.0)
    h = np.asarray(lesson.error_forward_source.data["h"])
    forward = np.asarray(lesson.error_forward_source.data["error"])
    # Truncation: the forward error is about h for large h (exactly h in real arithmetic).
    large = h >= 1e-4
    assert np.allclose(forward[large], h[large], rtol=1e-3)
    # Round-off: at h = 1e-12 the error is far above h.
    assert forward[0] > 1e-6
    central = np.asarray(lesson.error_central_source.data["error"])
    assert np.nanmax(central[h >= 1e-3]) < 1e-11  # exact up to round-off on a parabola


def test_one_d_descent_lists_0_0_6_1_08_1_464_1_7712():
    lesson = Derivative()
    ws = lesson.descent_source.data["w"]
    assert np.allclose(ws[:5], [0.0, 0.6, 1.08, 1.464, 1.7712], rtol=0, atol=1e-12)
    html = lesson.descent_readout.object
    for text in ("0.6", "1.08", "1.464", "1.7712"):
        assert f"<td>{text}</td>" in html


def test_one_d_descent_with_eta_2_flips_and_grows_and_says_so():
    lesson = Derivative(descent_lr=2.0)
    ws = lesson.descent_source.data["w"]
    assert list(ws[:4]) == [0.0, 12.0, -24.0, 84.0]
    assert np.isfinite(ws).all()
    assert "Diverging" in lesson.descent_readout.object


def _wcag_contrast_on_white(hex_colour):
    """WCAG 2 contrast ratio of a #rrggbb colour against white."""
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def test_slope_text_is_dark_orange_with_wcag_aa_contrast_on_white():
    from app import theme

    lesson = Derivative()
    assert theme.TANGENT_TEXT_COLOR in lesson.slope_readout.object
    assert theme.TANGENT_COLOR not in lesson.slope_readout.object
    assert _wcag_contrast_on_white(theme.TANGENT_TEXT_COLOR) >= 4.5


# ---------------------------------------------------------------- a lean page (issue 5)


def _figures(lesson):
    return [lesson.slope_figure, lesson.error_figure, lesson.secant_figure,
            lesson.descent_figure]


def test_the_four_figures_need_at_most_150_bokeh_models():
    # Every model costs server CPU to build, add to the document and serialize for each new
    # page; figure() and fig.line() made 259 for the same drawing.
    lesson = Derivative()
    models = set().union(*(fig.references() for fig in _figures(lesson)))
    assert len(models) <= 150


def test_renderers_carry_only_their_glyph_and_share_a_view_per_source():
    from bokeh.models import GlyphRenderer

    lesson = Derivative()
    renderers = [r for fig in _figures(lesson) for r in fig.renderers
                 if isinstance(r, GlyphRenderer)]
    assert len(renderers) == 17
    for renderer in renderers:
        # BokehJS derives these looks; nothing in lesson 1 selects, legends hide.
        assert renderer.nonselection_glyph == "auto" and renderer.muted_glyph == "auto"
        assert renderer.selection_glyph == "auto" and renderer.hover_glyph is None
    path = [r for r in renderers if r.data_source is lesson.descent_source]
    assert len(path) == 2 and path[0].view is path[1].view
    assert len({id(r.view) for r in renderers}) == 16


def test_figures_share_their_stateless_parts_but_pages_never_share_models():
    lesson, other = Derivative(), Derivative()
    figures = _figures(lesson)
    linear = [fig for fig in figures if fig is not lesson.error_figure]
    assert len({id(fig.x_scale) for fig in linear} | {id(fig.y_scale) for fig in linear}) == 1
    tickers = {id(axis.ticker) for fig in linear for axis in (*fig.below, *fig.left)}
    assert len(tickers) == 1
    assert lesson.error_figure.x_scale is lesson.error_figure.y_scale  # the log scale
    sources = [lesson.curve_source, lesson.tangent_source, lesson.error_forward_source,
               lesson.secants_source, lesson.descent_source]
    assert len({id(source.selected) for source in sources}) == 1
    assert list(lesson.curve_source.selected.indices) == []
    mine = set().union(*(fig.references() for fig in figures))
    theirs = set().union(*(fig.references() for fig in _figures(other)))
    assert not {model.id for model in mine} & {model.id for model in theirs}


def test_legends_name_their_lines_and_hide_them_on_click():
    lesson = Derivative()
    legend, = [item for item in lesson.slope_figure.center if type(item).__name__ == "Legend"]
    assert legend.click_policy == "hide"
    assert legend.location == "top_center"
    sources = {item.label.value: item.renderers[0].data_source for item in legend.items}
    assert sources == {"L(w) = w²": lesson.curve_source, "secant (central, h)":
                       lesson.secant_source, "tangent, slope 2w": lesson.tangent_source}
    secant_legend, = [item for item in lesson.secant_figure.center
                      if type(item).__name__ == "Legend"]
    first, second = (item.label for item in secant_legend.items)
    assert first.field == "label" and second.value == "tangent: slope 2"  # one entry per h
    assert secant_legend.items[0].renderers[0].data_source is lesson.secants_source


# ---------------------------------------------------- built when scrolled to (issue 14)


def _placeholders(lesson):
    from app.reveal import Reveal

    return lesson.__panel__().select(Reveal)


def _shown(lesson):
    """The lesson in a Bokeh document of its own (as a page shows it), kept up to date."""
    from bokeh.document import Document

    doc = Document()
    doc.add_root(lesson.__panel__().get_root(doc))
    return doc


def _named(doc):
    """The stable names (app/README.md) in `doc`, and how many models it holds."""
    return ({model.name for model in doc.models if model.name and model.name.islower()},
            len(doc.models))


FIRST_SCREEN = {"derivative-figure", "derivative-curve", "tangent-line", "secant-line",
                "derivative-point", "secant-points", "derivative-step-arrow",
                "derivative-step-arrow-annotation", "direction-label"}
BESIDE = {"error-figure", "error-forward", "error-central", "error-current"}
BELOW = {"secant-figure", "secant-lines", "descent1d-figure", "descent1d-path"}


def test_a_deferred_lesson_shows_its_first_screen_and_a_placeholder_for_the_rest():
    lesson = Derivative(defer=True)
    names, count = _named(_shown(lesson))
    assert FIRST_SCREEN <= names and not (BESIDE | BELOW) & names
    assert count <= 80  # the whole lesson: 172
    assert lesson.error_figure is lesson.secant_figure is lesson.descent_figure is None
    placeholder, = _placeholders(lesson)
    assert placeholder.name == "reveal-error-figure" and lesson.revealed == 0
    assert lesson.__panel__()[0][-1] is placeholder  # beside the curve, where the plot goes


def test_the_placeholder_seen_builds_the_rest_in_its_place_with_the_current_state():
    lesson = Derivative(defer=True)
    lesson.param.update(w=-0.5, h=0.01, descent_lr=2.0)  # changed before anything is seen
    doc = _shown(lesson)
    placeholder, = _placeholders(lesson)
    placeholder.seen = True
    names, _count = _named(doc)
    assert (BESIDE | BELOW) <= names and lesson.revealed == 1 and not _placeholders(lesson)
    first_row = lesson.__panel__()[0]
    assert first_row[2].objects[0].object is lesson.error_figure  # where the placeholder was
    assert list(lesson.error_current_source.data["h"]) == [0.01, 0.01]
    assert list(lesson.descent_source.data["w"][:3]) == [0.0, 12.0, -24.0]  # η = 2 flips
    placeholder.seen = False
    placeholder.seen = True  # seen again (a re-rendered placeholder): built once
    assert lesson.revealed == 1


def test_a_deferred_lesson_makes_the_widgets_and_sources_below_only_with_their_part():
    lesson = Derivative(defer=True)
    below = ("descent_lr_slider", "descent_start_slider", "descent_steps_slider",
             "descent_readout", "secant_table", "error_forward_source",
             "error_central_source", "error_current_source", "descent_source",
             "secants_source", "quiz_panel")
    lesson.param.update(descent_lr=2.0, descent_steps=6)  # the readout is not made yet
    assert not set(below) & set(vars(lesson))
    _shown(lesson)
    placeholder, = _placeholders(lesson)
    placeholder.seen = True
    assert set(below) <= set(vars(lesson))
    assert "Diverging" in lesson.descent_readout.object  # made with the current η
    assert lesson.descent_steps_slider.value == 6
    assert len(lesson.descent_source.data["w"]) == 7 and lesson.secants_source.name
    lesson.descent_lr = 0.1
    assert "After 6 steps" in lesson.descent_readout.object  # and kept current


def test_a_deferred_lesson_becomes_the_same_lesson_as_one_built_at_once():
    deferred, eager = Derivative(defer=True), Derivative(defer=False)
    doc = _shown(deferred)
    for placeholder in _placeholders(deferred):
        placeholder.seen = True
    assert _named(doc) == _named(_shown(eager))
    for item, twin in zip(deferred.__panel__().select(), eager.__panel__().select(),
                          strict=True):
        assert type(item) is type(twin)
        assert sorted(item.stylesheets, key=str) == sorted(twin.stylesheets, key=str)


def test_outside_a_server_the_lesson_is_built_at_once():
    lesson = Derivative()  # a notebook, a test: no browser reports what it sees
    assert not _placeholders(lesson) and lesson.descent_figure is not None


def test_presentation_mode_reaches_a_part_built_later(monkeypatch):
    from app import reveal
    from app.lecture import Lecture
    from app.presenting import PRESENT_TEXT_CSS

    monkeypatch.setattr(reveal, "on_server", lambda: True)  # as on a server: deferred
    lesson = Lecture("present=1").lesson("derivative")
    assert lesson.slope_figure.title.text_font_size != "15px"  # scaled ×1.45
    assert lesson.error_figure is None
    for placeholder in _placeholders(lesson):
        placeholder.seen = True
    assert lesson.error_figure.title.text_font_size != "15px"
    assert lesson.descent_figure.title.text_font_size != "15px"
    texts = [*lesson.__panel__().select(pn.pane.Markdown),
             *lesson.__panel__().select(lambda o: type(o) is pn.pane.HTML
                                        and "derivative" in str(o.object))]  # the intro
    assert len(texts) == 4
    assert all(t.stylesheets.count(PRESENT_TEXT_CSS) == 1 for t in texts)
    assert all("downhill-presenting" in t.css_classes for t in texts)


def test_a_w_or_h_change_sends_the_readout_its_new_text_alone():
    """The readout changes on every drag of w or h: it is the text-only pane (app/
    upstream_patches.py), which sends the text without recomputing the pane's other
    properties (in-process 2.0 -> 1.4 ms of CPU per w change)."""
    from app.upstream_patches import text_only_html

    lesson = Derivative(defer=True)
    doc = _shown(lesson)
    assert isinstance(lesson.slope_readout, text_only_html())
    (model, _parent), = lesson.slope_readout._models.values()
    lesson.w = -0.5
    assert model.document is doc and "At w = <b>-0.50</b>" in html.unescape(model.text)
