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
LANDSCAPE_SIZE = 500  # the smallest height; it grows with the window (LESSON_HEIGHT)
LANDSCAPE_ASPECT = 1.08  # width / height: a square frame plus the colour bar
LESSON_HEIGHT = "calc(100vh - 110px)"  # the window below the header and the tabs
SIDE_FIGURE_WIDTH = 420
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
