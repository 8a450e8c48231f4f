"""Presentation mode (a projector): its stylesheets and the scaling of a lesson's figures.

Lecture (app/lecture.py) decides when the page presents; this module owns how: the CSS
under the class `downhill-presenting` (page, tabs, text panes, Divs, widgets, LaTeX), which
text items of a lesson get it (`prepare_text`, `mark`), and the figures' larger fonts, lines
and markers (`scale_figures`, reversible: the original sizes are kept).
"""

import math

import numpy as np
import panel as pn

PRESENT_SCALE = {"font": 1.45, "line": 1.8, "marker": 1.5, "border": 1.3}
"""Presentation mode: fonts, line widths, marker sizes and the margins around the plotting
frames (room for the larger labels) on the figures grow by these."""

PRESENT_CSS = """
:host(.downhill-presenting) { font-size: 21px; color: #000000; --font-size: 19px;
  --bokeh-font-size: 19px; --base-font-size: 19px;
  --downhill-border-scale: 1.3; --downhill-chrome: 150px; }
:host(.downhill-presenting) .bk-panel-models-markup-HTML,
:host(.downhill-presenting) .markdown { font-size: 20px; }
"""
PRESENTING = "downhill-presenting"
PRESENT_TEXT_CSS = """
:host(.downhill-presenting) { font-size: 21px !important; color: #000000; }
:host(.downhill-presenting) :is(p, li, div, span, b, strong, em, td, th, code) {
  font-size: inherit !important; line-height: 1.45; }
:host(.downhill-presenting) h3 { font-size: 1.25em !important; }
:host(.downhill-presenting) :is(.downhill-direction, [style*="e69f00"]) {
  color: #7a4a00 !important; }
"""
PRESENT_WIDGET_CSS = """
:host(.downhill-presenting) .bk-btn { font-size: 19px; }
:host(.downhill-presenting) :is(.bk-input, select, input, label, .bk-input-group) {
  font-size: 19px; }
:host(.downhill-presenting) .bk-btn-success { background-color: #1a7f37; border-color: #1a7f37;
  color: #ffffff; }
:host(.downhill-presenting) .bk-btn-danger { background-color: #b3261e; border-color: #b3261e;
  color: #ffffff; }
"""
"""Widgets' text grows; the default green and red buttons' white text has 2.3:1 and 4:1
contrast, presenting 5:1 and 6.5:1 (WCAG AA asks 4.5:1)."""
PRESENT_TABS_CSS = """
:host(.downhill-presenting) .bk-tab { font-size: 21px; }
"""
PRESENT_LATEX_CSS = """
:host(.downhill-presenting) { font-size: 24px !important; }
"""
"""Presentation mode for the whole page: larger text (inherited through every lesson's
shadow roots), black text on white (21:1, WCAG AAA). `--downhill-border-scale` is
PRESENT_SCALE["border"] and `--downhill-chrome` the page above a lesson (header, the toggle,
the tabs): the landscapes' CSS sizes their frames with them (theme.equal_scale_css)."""




def mark(items, on):
    """Set or clear the class `downhill-presenting` on each of `items` (None is skipped)."""
    for item in items:
        if item is not None:
            classes = [c for c in item.css_classes if c != PRESENTING]
            item.css_classes = classes + ([PRESENTING] if on else [])


def text_items(lesson):
    """A lesson's text panes, Bokeh Divs and widgets: what presentation mode enlarges."""
    from bokeh.models import Div

    layout = lesson.__panel__()
    texts = layout.select(lambda o: isinstance(o, pn.pane.Markdown | pn.pane.HTML
                                               | pn.pane.Alert | pn.pane.LaTeX))
    divs = [p.object for p in layout.select(pn.pane.Bokeh) if isinstance(p.object, Div)]
    widgets = layout.select(pn.widgets.Widget)
    return [*texts, *divs, *widgets]


def prepare_text(lesson):
    """Give each text pane and Bokeh Div of a new lesson the presentation stylesheet.

    It applies only under the class `downhill-presenting`, which the toggle sets: the
    panes' own stylesheets set pixel sizes that inheritance cannot override, and a
    stylesheet added after a pane is drawn does not reach it, but a class does."""
    prepare_items(text_items(lesson))


def prepare_items(items):
    """prepare_text for these panes and widgets (also ones a lesson builds later, e.g. lesson
    2's inspector when its box is ticked); an item that has the stylesheet keeps one."""
    for item in items:
        if isinstance(item, pn.widgets.Widget):
            extra = PRESENT_WIDGET_CSS
        elif isinstance(item, pn.pane.LaTeX):
            extra = PRESENT_LATEX_CSS
        else:
            extra = PRESENT_TEXT_CSS
        if extra not in item.stylesheets:  # a lesson's later parts call this again
            item.stylesheets = [*item.stylesheets, extra]


def scale_text(lesson, on):
    """Presentation mode on the lesson's text (see prepare_text)."""
    mark(text_items(lesson), on)


def scale_figures(lesson, on, originals):
    """Presentation mode on the lesson's figures: larger fonts and markers, thicker
    lines. `originals` keeps the original sizes ((model id, property) → value), so
    switching back restores them exactly."""
    from bokeh.models import Plot

    layout = lesson.__panel__()
    plots = {id(p.object): p.object for p in layout.select(pn.pane.Bokeh)
             if isinstance(p.object, Plot)}
    for attribute in vars(lesson).values():
        if isinstance(attribute, Plot):
            plots[id(attribute)] = attribute
        figure = getattr(attribute, "figure", None)
        if isinstance(figure, Plot):
            plots[id(figure)] = figure
    for plot in plots.values():
        for model in plot.references():
            for name, kind in SCALED_PROPERTIES:
                if name not in model.properties():
                    continue
                key = (model.id, name)
                if on:
                    original = originals.get(key, getattr(model, name))
                    scaled = scaled_value(original, PRESENT_SCALE[kind])
                    if scaled is None:
                        continue
                    if kind == "border":  # Bokeh's margins are whole pixels
                        scaled = round(scaled)
                    originals[key] = original
                    setattr(model, name, scaled)
                elif key in originals:
                    setattr(model, name, originals.pop(key))


SCALED_PROPERTIES = (
    ("text_font_size", "font"),
    ("axis_label_text_font_size", "font"),
    ("major_label_text_font_size", "font"),
    ("label_text_font_size", "font"),
    ("title_text_font_size", "font"),
    ("line_width", "line"),
    ("size", "marker"),
    ("min_border_left", "border"),
    ("min_border_right", "border"),
    ("min_border_top", "border"),
    ("min_border_bottom", "border"),
)


def scaled_value(value, factor):
    """`value` (a number or a CSS px size) times `factor`; None for anything else (fields)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | np.floating) and math.isfinite(value):
        return float(value) * factor
    if isinstance(value, str) and value.endswith("px"):
        try:
            return f"{round(float(value[:-2]) * factor)}px"
        except ValueError:
            return None
    return None


