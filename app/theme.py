"""Colours, fonts and sizes shared by every lesson (no math here).

Loss is drawn with viridis: low loss dark purple, high loss bright yellow, perceptually uniform
and colour-blind safe. Lines on top of it use the Okabe–Ito colours, which stay apart for every
common colour-vision deficiency and stand out against viridis' purples and greens.
Sizes are chosen so a lesson fits a 1366×768 laptop without scrolling sideways and still reads
from the back of a hall on a 1920×1080 projector.
"""

from bokeh.models import CustomJSTickFormatter
from bokeh.palettes import Viridis256
from bokeh.plotting import figure

LOSS_PALETTE = Viridis256
"""Heatmap palette: index 0 (dark) for the lowest loss, 255 (bright) for the highest."""

CONTOUR_COLOR = "#ffffff"
CONTOUR_ALPHA = 0.35
START_COLOR = "#ffffff"
MINIMUM_COLOR = "#ffffff"

# Okabe–Ito: vermillion, sky blue, orange, reddish purple — one per racing optimizer.
RACE_COLORS = ("#ff6e3a", "#56b4e9", "#f0e442", "#cc79a7")
ARROW_COLOR = "#ffffff"

TANGENT_COLOR = "#e69f00"  # orange, as the lesson text says
# The same orange darkened for text on white: 5.9:1 contrast (WCAG AA), the line colour is 2.1:1.
TANGENT_TEXT_COLOR = "#8a5a00"
SECANT_COLOR = "#0072b2"  # blue
CURVE_COLOR = "#3b3b3b"
POINT_COLOR = "#d55e00"
FORWARD_COLOR = "#d55e00"
CENTRAL_COLOR = "#0072b2"
SECANT_STEP_COLORS = ("#56b4e9", "#009e73", "#cc79a7")  # h = 0.1, 0.01, 0.001
DESCENT_1D_COLOR = "#d55e00"

TEXT_COLOR = "#1f2328"
MUTED_TEXT = "#57606a"
ACCENT = "#440154"  # viridis' darkest purple, for the header

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

# Figure sizes in CSS pixels; the landscape fits a 768 px tall laptop screen under the header.
LANDSCAPE_SIZE = 500  # its nominal height; CSS sizes it to the window (equal_scale_css)
LANDSCAPE_ASPECT = 1.08  # nominal width / height: a square frame plus the colour bar
SIDE_FIGURE_WIDTH = 360
SIDE_FIGURE_HEIGHT = 250
CURVE_FIGURE_WIDTH = 520
CURVE_FIGURE_HEIGHT = 330
SMALL_FIGURE_WIDTH = 400
SMALL_FIGURE_HEIGHT = 260
CONTROLS_WIDTH = 300

TEXT_STYLE = {"font-size": "15px", "line-height": "1.45"}
SMALL_TEXT_STYLE = {"font-size": "14px", "line-height": "1.4"}

PAGE_CSS = f"""
:host, body {{ font-family: {FONT}; color: {TEXT_COLOR}; }}
"""


def make_figure(name, **options):
    """A Bokeh figure with the lesson look: readable fonts, a quiet toolbar, no logo.

    Every figure gets a stable `name` (a test handle, listed in app/README.md).
    """
    defaults = dict(
        toolbar_location="above",
        tools="pan,wheel_zoom,box_zoom,reset,save",
        background_fill_color="#ffffff",
        border_fill_color="#ffffff",
        outline_line_color="#d0d7de",
        min_border_left=50,
        min_border_bottom=40,
        output_backend="canvas",
    )
    defaults.update(options)
    fig = figure(name=name, **defaults)
    fig.toolbar.logo = None
    fig.toolbar.autohide = True
    fig.title.text_font_size = "15px"
    fig.title.text_font_style = "bold"
    fig.title.text_color = TEXT_COLOR
    for axis in (*fig.xaxis, *fig.yaxis):
        axis.axis_label_text_font_size = "15px"
        axis.axis_label_text_font_style = "normal"
        axis.major_label_text_font_size = "13px"
    fig.grid.grid_line_alpha = 0.35
    return fig


def style_legend(fig, location="top_right"):
    """A compact, readable legend that can hide a line by clicking its entry."""
    fig.legend.location = location
    fig.legend.click_policy = "hide"
    fig.legend.label_text_font_size = "13px"
    fig.legend.background_fill_alpha = 0.85
    fig.legend.padding = 4
    fig.legend.spacing = 0
    fig.legend.margin = 6


def log_tick_formatter():
    """Shows a slider that moves over log10(value) as the value itself (0.001, 0.1, 3, ...)."""
    return CustomJSTickFormatter(
        code="""
        const v = Math.pow(10, tick);
        if (v >= 0.01 && v < 1000) return String(Number(v.toPrecision(2)));
        const s = v.toExponential(1).replace('.0e', 'e').replace('e+', 'e');
        return s;
        """
    )


# ------------------------------------------------------------------------- lean figures
#
# Every Bokeh model a page holds costs server CPU three times per new session: to build it,
# when Panel adds the page to the document (reference walks over every model), and to
# serialize it. `figure()` plus `fig.line(...)` builds, per figure, its own scales, tickers,
# formatters and label policies, and per glyph a renderer with three glyph copies
# (the glyph, a non-selection and a muted copy), a view and a filter. The builders below draw
# the same thing with fewer models: the parts BokehJS treats as stateless (scales are cloned
# per plot; tickers, formatters, label policies, the all-indices filter and the selection
# policy only compute) are shared by the figures of one lesson, and a renderer gets only its
# glyph: BokehJS derives the non-selection and muted looks itself when they are needed
# (a lesson without selection tools never selects, and legends hide rather than mute).
# For the same reason the sources of such a lesson share one (always empty) Selection, and
# the renderers of one source share its view.


class SharedModels:
    """Stateless Bokeh models that the figures of ONE document (one lesson) can share.

    Never share an instance between sessions: a Bokeh model belongs to one document.
    Only for figures without selection tools (tap, box/lasso select, hover): their sources
    share one Selection, which then never changes.
    """

    def __init__(self):
        from bokeh.models import (
            AllIndices,
            AllLabels,
            BasicTicker,
            BasicTickFormatter,
            LinearScale,
            LogScale,
            LogTicker,
            LogTickFormatter,
            Selection,
            UnionRenderers,
        )

        self.scales = {"linear": LinearScale(), "log": LogScale()}
        # The minor ticks figure() would give: 5 per interval on linear axes, 10 on log axes.
        self.tickers = {"linear": BasicTicker(num_minor_ticks=5),
                        "log": LogTicker(num_minor_ticks=10)}
        self.formatters = {"linear": BasicTickFormatter(), "log": LogTickFormatter()}
        self.labels = AllLabels()
        self.all_indices = AllIndices()
        self.selection_policy = UnionRenderers()
        self.selection = Selection()
        self._views = {}

    def source(self, data, name=None):
        """A ColumnDataSource with the shared selection and selection policy."""
        from bokeh.models import ColumnDataSource

        return ColumnDataSource(data=data, name=name, selected=self.selection,
                                selection_policy=self.selection_policy)

    def view(self, source):
        """The one view (all rows) of `source` that its renderers share."""
        from bokeh.models import CDSView

        if source.id not in self._views:
            self._views[source.id] = CDSView(filter=self.all_indices)
        return self._views[source.id]


def lesson_figure(name, shared, *, title, width, height, x_range, y_range, x_axis_label,
                  y_axis_label, x_axis_type="linear", y_axis_type="linear", tools=("save",)):
    """A Bokeh Plot with make_figure's look (fonts, outline, grid, a quiet toolbar, no logo),
    built from `shared` parts (see SharedModels). `tools` names Bokeh tools ("save", "pan",
    "wheel_zoom", "reset", ...); the figure gets a stable `name` (app/README.md)."""
    from bokeh.models import Grid, LinearAxis, LogAxis, Plot, Title, Toolbar
    from bokeh.models.tools import Tool

    def axis(kind, label):
        cls = LogAxis if kind == "log" else LinearAxis
        return cls(axis_label=label, axis_label_text_font_size="15px",
                   axis_label_text_font_style="normal", major_label_text_font_size="13px",
                   ticker=shared.tickers[kind], formatter=shared.formatters[kind],
                   major_label_policy=shared.labels)

    x_axis, y_axis = axis(x_axis_type, x_axis_label), axis(y_axis_type, y_axis_label)
    toolbar = Toolbar(tools=[Tool.from_string(tool) for tool in tools], logo=None,
                      autohide=True)
    return Plot(
        name=name, width=width, height=height, x_range=x_range, y_range=y_range,
        x_scale=shared.scales[x_axis_type], y_scale=shared.scales[y_axis_type],
        title=Title(text=title, text_font_size="15px", text_font_style="bold",
                    text_color=TEXT_COLOR),
        toolbar=toolbar, toolbar_location="above",
        below=[x_axis], left=[y_axis],
        center=[Grid(dimension=0, axis=x_axis, grid_line_alpha=0.35),
                Grid(dimension=1, axis=y_axis, grid_line_alpha=0.35)],
        background_fill_color="#ffffff", border_fill_color="#ffffff",
        outline_line_color="#d0d7de", min_border_left=50, min_border_bottom=40,
        output_backend="canvas",
    )


def draw(fig, shared, source, glyph):
    """Add `glyph` drawn from `source` to `fig`; returns the renderer (for a legend).

    Only the glyph itself is built: BokehJS derives the non-selection and muted looks, and
    the renderers of one source share its view."""
    from bokeh.models import GlyphRenderer

    renderer = GlyphRenderer(data_source=source, glyph=glyph, view=shared.view(source))
    fig.renderers.append(renderer)
    return renderer


def add_legend(fig, items, location="top_right"):
    """style_legend's look for explicit (label, renderers) items; clicking hides a line.

    `items` may also hold LegendItems (e.g. one whose label is a data field)."""
    from bokeh.models import Legend, LegendItem

    legend = Legend(
        items=[item if isinstance(item, LegendItem)
               else LegendItem(label=item[0], renderers=list(item[1])) for item in items],
        location=location, click_policy="hide", label_text_font_size="13px",
        background_fill_alpha=0.85, padding=4, spacing=0, margin=6,
    )
    fig.center.append(legend)
    return legend


# ------------------------------------------------------------------------- responsive layout
#
# Every lesson is a CSS size container ("downhill-lesson"); its rows wrap instead of running
# off the right edge, and below NARROW CSS px (a phone) everything stacks into one column
# and fits the width. Figures scale with their width and keep their shape; the landscapes'
# plotting frames keep the data's own aspect (equal x and y scale: a circle stays a circle)
# at every size, see equal_scale_css.

NARROW = 700
"""CSS px: a lesson narrower than this (a phone, ~390 px) stacks into one column."""

SHRINK_CSS = ":host { min-width: 0 !important; max-width: 100%; }"
"""Panel gives a stretching container the sum of its children's widths as its min-width, so
a row of a laptop's widths would push a phone's page wider than the screen: wrapping rows
need none."""
LESSON_CSS = ":host { container: downhill-lesson / inline-size; min-width: 0 !important; }"
ROW_CSS = ":host { flex-wrap: wrap !important; min-width: 0 !important; }"
_NARROW_QUERY = f"@container downhill-lesson (max-width: {NARROW - 1}px)"
FULL_WIDTH_CSS = (f"{_NARROW_QUERY} {{ :host {{ flex: 1 1 100% !important; "
                  "width: auto !important; min-width: 0 !important; "
                  "max-width: min(100%, calc(100cqw - 20px)) !important; }} }}")
"""Below NARROW a lesson's columns and rows take the whole width, one under the other."""
TEXT_FIT_CSS = (f"{_NARROW_QUERY} {{ :host > div {{ width: auto !important; "
                "min-width: 0 !important; max-width: 100% !important; }} }}")
"""A text pane of a fixed width also fixes its inner box's width: below NARROW both fit."""
PHONE_TEXT_CSS = f"{_NARROW_QUERY} {{ :host {{ font-size: max(15px, 100%) !important; }} }}"
"""Below NARROW the lessons' text is at least 15 CSS px (some panes are set smaller)."""
FORMULA_CSS = ":host { max-width: calc(100cqw - 20px) !important; overflow-x: auto; }"
"""A formula wider than the lesson (a phone; presentation mode's large type on a projector)
scrolls within its own line, not the whole page."""
FLUID_CSS = (f"{_NARROW_QUERY} {{ :host {{ max-width: min(100%, calc(100cqw - 20px)) "
             "!important; min-width: 0 !important; }} }}")

FRAME_BORDERS = {"left": 58, "right": 74, "top": 32, "bottom": 50}
"""A landscape's fixed margins around its plotting frame (CSS px, at normal font size): the y
axis, the colour bar, the title with the toolbar, the x axis. Bokeh makes each margin the
larger of this and what its contents need; these are larger than what they need (also for
"−10" tick labels and log colour bars), so the CSS below knows the frame's size exactly.
Presentation mode scales them with the fonts (`--downhill-border-scale`, app/lecture.py)."""

CHROME_HEIGHT = "var(--downhill-chrome, 110px)"
"""The page above a lesson (header, toolbar, tabs); presentation mode sets its own value."""


def figure_css(width, height):
    """A figure of `width` × `height` px that, below NARROW, fills the lesson's width and keeps
    its shape (its aspect ratio) instead of being squeezed or cut off."""
    return (f"{_NARROW_QUERY} {{ :host {{ width: calc(100cqw - 24px) !important; "
            f"height: auto !important; aspect-ratio: {width} / {height} !important; "
            "flex: 0 0 auto !important; min-width: 0 !important; max-width: 100% !important; "
            "max-height: none !important; overflow: clip; }} }}")


def equal_scale_css(x_span, y_span, beside):
    """CSS that sizes a figure (with FRAME_BORDERS as its min borders) so that its plotting
    frame has the data's aspect x_span / y_span: one data unit is as many pixels along x as
    along y, at every window size.

    The figure is as wide as the lesson allows (`beside`: {lesson width from which the rule
    holds, in px: px the rest of its row takes}) and at most as tall as the window below
    the page's header; its height follows from its width.
    """
    aspect = float(x_span) / float(y_span)
    scale = "var(--downhill-border-scale, 1)"
    b = FRAME_BORDERS
    rules = [f""":host {{
  --downhill-aspect: {aspect:.6g};
  --downhill-bx: calc({b['left'] + b['right']}px * {scale});
  --downhill-by: calc({b['top'] + b['bottom']}px * {scale});
  --downhill-tallest: calc((100vh - {CHROME_HEIGHT} - var(--downhill-by))
                           * var(--downhill-aspect) + var(--downhill-bx));
  width: var(--downhill-w) !important;
  height: calc((var(--downhill-w) - var(--downhill-bx)) / var(--downhill-aspect)
               + var(--downhill-by)) !important;
  flex: 0 0 auto !important; min-width: 0 !important; min-height: 0 !important;
  max-width: 100% !important; max-height: none !important; overflow: clip;
}}"""]
    for from_width, taken in sorted(beside.items()):
        rule = f":host {{ --downhill-w: max(160px, min(calc(100cqw - {taken}px), " \
               "var(--downhill-tallest))); }"
        rules.append(f"@container downhill-lesson (min-width: {from_width}px) {{ {rule} }}"
                     if from_width else rule)
    return "\n".join(rules)


EQUAL_SCALE_TAG = "downhill-equal-scale"
"""Figures tagged so keep their own equal-scale CSS (responsive() leaves their size alone)."""


def responsive(layout, part=False):
    """Give a lesson's layout the responsive CSS: the lesson is the size container, its rows
    wrap, fixed widths give way below NARROW, and its figures keep their shape. Returns it.

    `part=True`: `layout` is a part put into a lesson's layout later (app/reveal.py); it gets
    the CSS of an item inside a lesson, not the lesson's own."""
    import panel as pn
    from bokeh.models import Plot

    def add(item, css):
        if css not in item.stylesheets:
            item.stylesheets = [*item.stylesheets, css]

    lesson = None if part else layout
    if not part:
        add(layout, LESSON_CSS)
    for item in layout.select(lambda o: isinstance(o, pn.viewable.Viewable)):
        if isinstance(item, pn.Row | pn.FlexBox):
            add(item, ROW_CSS)
        if isinstance(item, pn.pane.LaTeX):
            add(item, FORMULA_CSS)
        elif isinstance(item, pn.pane.Markdown | pn.pane.HTML):
            add(item, PHONE_TEXT_CSS)
        if isinstance(item, pn.pane.Bokeh):
            fig = item.object
            if isinstance(fig, Plot) and EQUAL_SCALE_TAG not in fig.tags:
                add(fig, figure_css(fig.min_width or fig.width or 600, fig.height or 400))
        elif item is not lesson and isinstance(item, pn.layout.ListLike):
            add(item, FULL_WIDTH_CSS)
        elif isinstance(item, pn.pane.PaneBase) and getattr(item, "width", None):
            add(item, FULL_WIDTH_CSS)
            add(item, TEXT_FIT_CSS)
        elif item is not lesson and (getattr(item, "width", None)
                                     or getattr(item, "min_width", None)):
            add(item, FLUID_CSS)
    return layout
