"""Lesson 2's figures: the landscape (heatmap, contours, minima, paths, arrow) and the loss
plot, built once per lesson, and the drawing of a landscape into them (only data change).

`DescentFigures` is a mixin of `GradientDescent` (app/descent.py). Also here: the numbers the
figures need (log-axis losses, the loss axis' range, the arrow's tips) and
`landscape_picture(name)`, a landscape's heatmap image, colour range and contour lines,
computed once per process and shared read-only (never a Bokeh model).
"""

import functools
import html
import math
from typing import NamedTuple

import numpy as np
import panel as pn
from bokeh.events import DoubleTap, Tap
from bokeh.models import (
    Arrow,
    BasicTicker,
    BasicTickFormatter,
    ColorBar,
    CustomJS,
    GlyphRenderer,
    Image,
    LegendItem,
    Line,
    LinearColorMapper,
    LinearScale,
    LogColorMapper,
    LogScale,
    LogTicker,
    LogTickFormatter,
    Range1d,
    Scatter,
    Span,
    VeeHead,
)
from bokeh.plotting.contour import contour_data

import circuits
import landscapes
from app import presenting, theme
from app.descent_js import CLIP_JS

MAX_RACERS = 4
# What the rest of the landscape's row takes, in CSS px, from a lesson width on (see
# theme.equal_scale_css): the controls and the side column beside it on a laptop, the controls
# alone on a projector (the side column wraps below), nothing on a phone.
LANDSCAPE_BESIDE = {0: 24, theme.NARROW: theme.CONTROLS_WIDTH + 30,
                    1180: theme.CONTROLS_WIDTH + theme.SIDE_FIGURE_WIDTH + 40}
LANDSCAPE_ORDER_CSS = (f"@container downhill-lesson (max-width: {theme.NARROW - 1}px) "
                       "{ :host { order: -1; } }")

TITLE_CHARS = 36  # the longest map title that fits a phone's 390 px
GRID = 160  # heatmap cells per side: sharp at 500 px, about 100 kB as float32


def loss_for_log_axis(losses, min_value):
    """Losses for a log axis: the gap to the minimum; zero or below (no logarithm) is a gap."""
    gap = np.asarray(losses, dtype=float) - (min_value or 0.0)
    with np.errstate(invalid="ignore"):
        return np.where(gap > 0, gap, np.nan)


def loss_axis_range(curves, log):
    """The loss axis' (start, end): every finite value of every curve, with a margin."""
    values = np.concatenate([np.asarray(c, dtype=float) for c in curves])
    values = values[np.isfinite(values)]
    if log:
        values = values[values > 0]
        if values.size == 0:
            return 1e-3, 1.0
        low, high = float(values.min()), float(values.max())
        if high <= low:
            return low / 10, high * 10
        return low / 2, high * 2
    if values.size == 0:
        return -1.0, 1.0
    low, high = float(values.min()), float(values.max())
    margin = 0.05 * (high - low) if high > low else max(abs(high), 1.0)
    return low - margin, high + margin


def snapped_loss_range(low, high, log):
    """The loss axis' range widened to whole decades (log) or to a round step (linear).

    Nearby starts then share one range: the axes stay put from tap to tap (steadier to read,
    and an axis whose tick labels change width makes BokehJS lay out the whole page again).
    """
    if log:  # a long run's loss gap can underflow to the smallest floats (or 0 when halved)
        low, high = max(low, 1e-300), max(high, 1e-300)
        return 10.0 ** math.floor(math.log10(low)), 10.0 ** math.ceil(math.log10(high))
    step = 10.0 ** math.floor(math.log10(high - low)) if high > low else 1.0
    return math.floor(low / step) * step, math.ceil(high / step) * step


def arrow_tips(points, grads, length):
    """Where the fixed-length arrow along −∇L ends, for each point (NaN where ∇L is 0 or NaN)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = np.sqrt(np.sum(grads * grads, axis=-1, keepdims=True))
        tips = points - length * grads / norm
    ok = np.isfinite(tips).all(axis=-1, keepdims=True) & (norm > 0)
    return np.where(ok, tips, np.nan)



def on_drawn_figure(change):
    """Run `change` (a function that adds renderers or annotations to a figure) in a message
    of its own: BokehJS 3.10 fails ("cannot find a view for Arrow") when a renderer arrives
    on a figure already on screen in the same message as new panes, whose layout pass then
    looks for the renderer's view before the figure built it; the rest of that message is
    lost (tests/ui/test_descent_inspector.py::test_ticking_*). On a server the change goes
    out on the next tick; without one (a notebook, tests) it is made at once."""
    doc = pn.state.curdoc
    if doc is not None and doc.session_context is not None:
        doc.add_next_tick_callback(change)
    else:
        change()


def present_later(lesson, items):
    """Panes and widgets a lesson builds after the lecture prepared its text for presentation
    mode (a part built when first needed) get the presentation stylesheet, and its class when
    the page is presenting now; `new_part` tells a lecture that presents a lesson's later parts
    itself (the same, idempotent)."""
    presenting.prepare_items(items)
    presenting.mark(items, presenting.PRESENTING in lesson.status.css_classes)
    lesson.new_part = list(items)


class LandscapePicture(NamedTuple):
    """What the heatmap and the contours show of one landscape: the same for every session,
    so computed once per process (`landscape_picture`) and shared read-only."""

    image: np.ndarray  # (GRID, GRID) float32, the colour-mapped values (read-only)
    low: float  # the colour mapper's range
    high: float
    colorbar_title: str
    contour_lines: dict  # the contour renderer's line source columns (xs, ys, levels)


@functools.cache
def landscape_picture(name):
    """The heatmap image, colour range and contour lines of landscape `name`, computed once
    per process: the grid's losses and contourpy's lines took 2–9 ms of CPU per new lesson 2
    and per change of landscape (measured warm; logistic's 160×160 grid of data losses is the
    dearest). Only numbers and arrays are shared between sessions, never a Bokeh model."""
    chosen = landscapes.get(name)
    xs, ys, grid = picture_grid(chosen.bounds)
    with np.errstate(all="ignore"):
        values = np.asarray(chosen.loss(grid), dtype=float)
    return _picture(chosen, xs, ys, values)


FUNCTION_PICTURES = 16
"""Typed functions whose pictures a process keeps (least recently used first out): a bound,
so students typing many functions (or a hostile client) cannot fill the server's memory."""
TOO_LARGE = 1e30
"""A typed function's largest |f| on the grid that the heatmap can show (float32 ends near
3.4e38; beyond this the colours would say nothing anyway)."""


class FunctionError(ValueError):
    """Why a typed function cannot be drawn over its domain (what and where, for a student)."""


@functools.lru_cache(maxsize=FUNCTION_PICTURES)
def function_picture(text, bounds):
    """The picture of the typed f(x, y) = `text` over `bounds` ((xmin, xmax), (ymin, ymax)),
    as landscape_picture's, cached per (text, bounds) in a small LRU and shared read-only.

    Raises circuits.ExpressionError for text the parser refuses and FunctionError where f is
    not finite (or too large to colour) at a point of the grid, naming that point and the
    first part of the formula that fails there. Failures are not cached.
    """
    chosen = circuits.to_landscape(text, bounds=bounds)
    # First on the cells' corners, the domain's edges and the axes x = 0 and y = 0 inside
    # it: where 1/x or log(x) blow up, which the cells' centres step around.
    xs, ys = (np.union1d(np.linspace(low, high, GRID + 1), [0.0] if low < 0 < high else [])
              for low, high in chosen.bounds)
    _check_finite(chosen, xs, ys)
    xs, ys, grid = picture_grid(chosen.bounds)
    return _picture(chosen, xs, ys, _check_finite(chosen, xs, ys))


def _check_finite(chosen, xs, ys):
    """f over the grid xs × ys; FunctionError naming the first point where it is not finite
    (or too large to colour)."""
    with np.errstate(all="ignore"):
        values = np.asarray(chosen.loss(np.stack(np.meshgrid(xs, ys), axis=-1)), dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        row, column = np.unravel_index(np.argmax(bad), bad.shape)
        where = f"(x, y) = ({_short(xs[column])}, {_short(ys[row])})"
        raise FunctionError(
            f"f is not finite at {where}{_culprit(chosen, (row, column))}. Choose a domain "
            "where f is defined everywhere (e.g. x from 0.1 for log(x), sqrt(x) or 1/x), or "
            "change f.")
    if (np.abs(values) > TOO_LARGE).any():
        row, column = np.unravel_index(np.argmax(np.abs(values)), values.shape)
        raise FunctionError(
            f"f reaches {_short(values[row, column])} at (x, y) = ({_short(xs[column])}, "
            f"{_short(ys[row])}), too large to draw (|f| ≤ {TOO_LARGE:.0e}): narrow the domain "
            "or scale f down.")
    return values


def _culprit(chosen, index):
    """', where log(x) is NaN': the first part of the formula (in the circuit's order) whose
    value is not finite at grid cell `index` (the loss just ran over the grid)."""
    for node in chosen.circuit.nodes:
        value = np.asarray(node.value)
        if value.ndim == 2 and not np.isfinite(value[index]):
            kind = "NaN (undefined)" if np.isnan(value[index]) else "infinite"
            return f", where {node.text} is {kind}"
    return ""


def _short(value):
    return f"{float(value):.3g}"


def picture_grid(bounds):
    """The heatmap's cell centres: xs, ys (GRID each) and the (GRID, GRID, 2) points."""
    (xmin, xmax), (ymin, ymax) = bounds
    xs = xmin + (np.arange(GRID) + 0.5) * (xmax - xmin) / GRID
    ys = ymin + (np.arange(GRID) + 0.5) * (ymax - ymin) / GRID
    return xs, ys, np.stack(np.meshgrid(xs, ys), axis=-1)


def _picture(chosen, xs, ys, values):
    finite = values[np.isfinite(values)]
    if chosen.log_color:
        floor = chosen.min_value if chosen.min_value is not None else finite.min()
        shown_values = values - floor
        top = float(np.max(shown_values[np.isfinite(shown_values)]))
        positive = shown_values[np.isfinite(shown_values) & (shown_values > 0)]
        low = max(float(positive.min()), top * 1e-7)
        shown_values = np.clip(shown_values, low, top)
        levels = np.geomspace(low, top, 16)[1:-1]
        title = "loss − min" if floor else "loss"
    else:
        shown_values = values
        low, top = float(finite.min()), float(finite.max())
        if top <= low:  # a flat f (a constant): one colour, a range the mapper can use
            low, top = low - 0.5, low + 0.5
        levels = np.unique(np.quantile(finite, np.linspace(0.03, 0.93, 13)))
        title = "loss"
    shown_values = np.where(np.isfinite(shown_values), shown_values, top)
    lines = contour_data(xs, ys, shown_values, levels, want_fill=False).line_data
    image = shown_values.astype(np.float32)
    line_levels = np.asarray(lines.levels)
    for array in (image, line_levels, *lines.xs, *lines.ys):
        array.flags.writeable = False
    columns = {"xs": tuple(lines.xs), "ys": tuple(lines.ys), "levels": line_levels}
    return LandscapePicture(image, low, top, title, columns)


class DescentFigures:
    """The figures of GradientDescent and the drawing into them (a mixin)."""

    # ------------------------------------------------------------------- figures

    def _build_landscape_figure(self):
        fig = theme.make_figure(
            "landscape-figure",
            # Sized by CSS (LANDSCAPE_CSS): as large as the window allows, its frame always
            # of the landscape's own aspect (equal x and y scale).
            width=round(theme.LANDSCAPE_SIZE * theme.LANDSCAPE_ASPECT),
            height=theme.LANDSCAPE_SIZE,
            tags=[theme.EQUAL_SCALE_TAG],
            x_range=Range1d(0, 1, name="landscape-x-range"),
            y_range=Range1d(0, 1, name="landscape-y-range"),
            tools="pan,wheel_zoom,reset,save",
            x_axis_label="x",
            y_axis_label="y",
            **{f"min_border_{side}": px for side, px in theme.FRAME_BORDERS.items()},
        )
        fig.grid.visible = False
        # Lean renderers (theme.SharedModels, as lesson 1's): each renderer gets only its
        # glyph, the renderers of a source share its view, the sources one selection (neither
        # figure has a selection tool): ~40 fewer models, server CPU on every join.
        self.shared = shared = theme.SharedModels()
        self.image_source = shared.source(
            {"image": [], "x": [], "y": [], "dw": [], "dh": []}, name="landscape-image"
        )
        self.linear_mapper = LinearColorMapper(palette=theme.LOSS_PALETTE)
        self.log_mapper = LogColorMapper(palette=theme.LOSS_PALETTE)
        self.image_renderer = theme.draw(fig, shared, self.image_source, Image(
            image="image", x="x", y="y", dw="dw", dh="dh", color_mapper=self.linear_mapper))
        self.image_renderer.name = "landscape-heatmap"
        self.contours = fig.contour(
            x=np.array([0.0, 1.0]), y=np.array([0.0, 1.0]), z=np.zeros((2, 2)),
            levels=[0.5], line_color=theme.CONTOUR_COLOR, line_alpha=theme.CONTOUR_ALPHA,
            line_width=1.2, fill_color=None,
        )
        self.contours.name = "landscape-contours"
        self.colorbar = ColorBar(
            color_mapper=self.linear_mapper, width=12, padding=4, title="loss",
            title_text_font_size="13px", major_label_text_font_size="12px",
            name="landscape-colorbar",
        )
        fig.add_layout(self.colorbar, "right")

        self.minima_source = shared.source({"x": [], "y": []}, name="landscape-minima")
        self.minima_renderer = theme.draw(fig, shared, self.minima_source, Scatter(
            x="x", y="y", marker="star", size=20, fill_color=theme.MINIMUM_COLOR,
            line_color="black", line_width=1.2))
        self.legend_items = {}  # a racer's line -> its LegendItem (on a figure or not yet)

        # Racer 1's path now; racers 2-4's when a race first needs them (build_racers).
        self.path_sources, self.path_renderers, self.dot_renderers = [], [], []
        self._racer_line(fig, 0)
        self._racer_dots(fig, 0)

        self.arrow_source = shared.source(
            {"x0": [], "y0": [], "x1": [], "y1": []}, name="gradient-arrow"
        )
        arrow = Arrow(
            end=VeeHead(size=14, fill_color=theme.ARROW_COLOR, line_color="black",
                        line_width=1),
            x_start="x0", y_start="y0", x_end="x1", y_end="y1", source=self.arrow_source,
            line_color=theme.ARROW_COLOR, line_width=3, name="gradient-arrow-annotation",
        )
        fig.add_layout(arrow)
        self.start_source = shared.source({"x": [], "y": []}, name="landscape-start")
        start = theme.draw(fig, shared, self.start_source, Scatter(
            x="x", y="y", size=15, fill_color=theme.START_COLOR, line_color="black",
            line_width=2))
        legend = theme.add_legend(fig, [
            ("minimum", [self.minima_renderer]), self.legend_items[self.path_renderers[0]],
            ("start (tap to move)", [start])], location="top_left")
        legend.background_fill_alpha = 0.75
        self.start_renderer, self.arrow = start, arrow
        to_overlay = CustomJS(args=dict(moving=self._moving(fig), plot=fig), code=CLIP_JS)
        self.path_sources[0].js_on_change("data", to_overlay)
        self.to_overlay = to_overlay
        fig.x_range.js_on_change("start", to_overlay)
        fig.y_range.js_on_change("start", to_overlay)
        fig.on_event(Tap, self._on_tap)
        # BokehJS turns a second tap within 300 ms into a DoubleTap: treat it as a tap too.
        fig.on_event(DoubleTap, self._on_tap)
        self.trajectory_source = shared.source({"step": []}, name="landscape-trajectory")
        self.landscape_figure = fig

    def _build_loss_figure(self):
        fig = theme.make_figure(
            "loss-figure",
            title="Loss vs step",
            height=theme.SIDE_FIGURE_HEIGHT,
            width=theme.SIDE_FIGURE_WIDTH,
            sizing_mode="stretch_width",
            min_width=theme.SIDE_FIGURE_WIDTH,
            y_axis_type="log",
            x_range=Range1d(0, 1, name="loss-x-range"),
            # Fixed ranges, set from the whole precomputed path: auto-ranging would move the
            # axes (and send them to the server) on every frame of Play.
            y_range=Range1d(1e-3, 1, name="loss-y-range"),
            x_axis_label="step",
            y_axis_label="loss",
            tools="pan,wheel_zoom,box_zoom,reset,save",
        )
        self.loss_sources, self.loss_renderers = [], []
        self._loss_line(fig, 0)
        theme.add_legend(fig, [self.legend_items[self.loss_renderers[0]]])
        # issue 16: the step on screen (the history slider's k)
        self.loss_step_mark = Span(location=0, dimension="height", line_color="white",
                                   line_alpha=0.7, line_width=1.5, line_dash="dashed",
                                   name="loss-step-mark")
        fig.add_layout(self.loss_step_mark)
        # Losses fall from the top left, so the bottom left is the emptiest corner.
        fig.legend.location = "bottom_left"
        # Bright race colours need a dark backdrop here as on the heatmap.
        fig.background_fill_color = "#2b1a3d"
        fig.grid.grid_line_color = "#ffffff"
        fig.grid.grid_line_alpha = 0.15
        self.loss_figure = fig

    # ------------------------------------------------------------------- racers

    def _racer_line(self, fig, slot):
        """Racer `slot`'s path source and line on the landscape (with its legend entry)."""
        name = "landscape-path" if slot == 0 else f"landscape-path-{slot + 1}"
        source = self.shared.source({"x": [], "y": []}, name=name)
        self.path_sources.append(source)
        self.path_renderers.append(self._line(fig, slot, source, "x", "y"))

    def _racer_dots(self, fig, slot):
        source = self.path_sources[slot]
        glyph = Scatter(x="x", y="y", size=7, fill_color=theme.RACE_COLORS[slot],
                        line_color="black", line_width=0.8)
        self.dot_renderers.append(self._renderer(fig, source, glyph))

    def _loss_line(self, fig, slot):
        name = "loss-curve" if slot == 0 else f"loss-curve-{slot + 1}"
        source = self.shared.source({"step": [], "loss": []}, name=name)
        self.loss_sources.append(source)
        self.loss_renderers.append(self._line(fig, slot, source, "step", "loss"))

    def _renderer(self, fig, source, glyph):
        """A lean renderer (theme.draw) on `fig`, or with `fig` None on its own (build_racers
        adds it to its figure later)."""
        if fig is not None:
            return theme.draw(fig, self.shared, source, glyph)
        return GlyphRenderer(data_source=source, glyph=glyph, view=self.shared.view(source))

    def _line(self, fig, slot, source, x, y):
        """Racer `slot`'s line of `source` in its colour, and its legend entry "racer k" (kept
        in `legend_items`, for the figure's legend)."""
        line = self._renderer(fig, source, Line(x=x, y=y, line_color=theme.RACE_COLORS[slot],
                                                line_width=2.5))
        self.legend_items[line] = LegendItem(label=f"racer {slot + 1}", renderers=[line])
        return line

    def _moving(self, fig):
        """What CLIP_JS draws on the overlay canvas: paths, dots (of the racers on `fig`; a
        racer not added yet is not sent before its figure has it), start, arrow, legend."""
        racers = [r for r in (*self.path_renderers, *self.dot_renderers)
                  if r in fig.renderers]
        return [*racers, self.start_renderer, self.arrow, *fig.legend]

    def build_racers(self, count):
        """Racers 2 … `count`'s sources, lines, dots and legend entries on both figures, when a
        race first needs them (each costs ~15 Bokeh models, server CPU on every join). Their
        sources exist at once (data set now travels with them); the renderers and legend
        entries join the figures in a message of their own (on_drawn_figure)."""
        built = len(self.path_sources)
        if count <= built:
            return
        for slot in range(built, count):
            self._racer_line(None, slot)
            self._racer_dots(None, slot)
            self._loss_line(None, slot)
        new_paths = self.path_renderers[built:count]
        new_dots = self.dot_renderers[built:count]
        new_losses = self.loss_renderers[built:count]
        for source in self.path_sources[built:count]:
            source.js_on_change("data", self.to_overlay)  # Play moves them to the overlay
        landscape, losses = self.landscape_figure, self.loss_figure
        start = self.start_renderer

        def add():
            renderers = [r for r in landscape.renderers if r not in (*new_paths, *new_dots)]
            at = renderers.index(start)  # under the start dot, over the paths before them
            new = [r for pair in zip(new_paths, new_dots, strict=True) for r in pair]
            landscape.renderers = [*renderers[:at], *new, *renderers[at:]]
            losses.renderers = [*[r for r in losses.renderers if r not in new_losses],
                                *new_losses]
            for fig, lines in ((landscape, new_paths), (losses, new_losses)):
                legend = fig.legend[0]
                items = [item for item in legend.items if item.renderers[0] not in lines]
                racers = {*self.path_renderers, *self.loss_renderers}
                at = max(i for i, item in enumerate(items) if item.renderers[0] in racers) + 1
                legend.items = [*items[:at], *(self.legend_items[r] for r in lines),
                                *items[at:]]
            self.to_overlay.args = dict(moving=self._moving(landscape), plot=landscape)

        on_drawn_figure(add)

    # ------------------------------------------------------------------- drawing

    def _draw_landscape(self):
        chosen = self.surface
        (xmin, xmax), (ymin, ymax) = chosen.bounds
        picture = self.picture()
        mapper = self.log_mapper if chosen.log_color else self.linear_mapper
        mapper.update(low=picture.low, high=picture.high)
        self.colorbar.title = picture.colorbar_title
        with pn.io.hold():
            self.image_source.data = {
                "image": [picture.image], "x": [xmin], "y": [ymin],
                "dw": [xmax - xmin], "dh": [ymax - ymin],
            }
            self.image_renderer.glyph.color_mapper = mapper
            self.colorbar.color_mapper = mapper
            self._draw_contours(picture.contour_lines)
            self.landscape_figure.x_range.update(start=xmin, end=xmax)
            self.landscape_figure.y_range.update(start=ymin, end=ymax)
            self._size_landscape(xmax - xmin, ymax - ymin)
            # A canvas title does not wrap: a long typed f would run off a phone's map (the
            # box above and the formula beside the map show it whole).
            self.landscape_figure.title.text = (
                chosen.title if len(chosen.title) <= TITLE_CHARS else "Your function f(x, y)")
            self.minima_source.data = {"x": chosen.minima[:, 0], "y": chosen.minima[:, 1]}
            for item in self.landscape_figure.legend.items:
                if item.renderers[0] is self.minima_renderer:
                    item.visible = len(chosen.minima) > 0
            self._set_loss_axis(chosen.min_value)
            self.landscape_info.object = (
                f"<div class='downhill-status'><b>{html.escape(chosen.title)}</b>: "
                f"{html.escape(chosen.description)}</div>"
            )
            self.landscape_formula.object = f"$L(x, y) = {chosen.formula}$"

    def _size_landscape(self, x_span, y_span):
        """The landscape's CSS for the chosen landscape's aspect (see theme.equal_scale_css)."""
        css = [theme.equal_scale_css(x_span, y_span, LANDSCAPE_BESIDE), LANDSCAPE_ORDER_CSS]
        if self.landscape_figure.stylesheets != css:
            self.landscape_figure.stylesheets = css

    def _draw_contours(self, lines):
        """The contour lines, as ContourRenderer.set_data draws them (the line source's other
        columns kept; no filled bands): new lists for this session's source, holding the
        shared read-only arrays (nothing streams into or patches the contour lines)."""
        source = self.contours.line_renderer.data_source
        data = {"xs": list(lines["xs"]), "ys": list(lines["ys"]), "levels": lines["levels"]}
        for name, column in source.data.items():
            data.setdefault(name, column)
        if self.contours.fill_renderer.data_source.data.get("xs"):
            self.contours.fill_renderer.data_source.data = dict(
                xs=[], ys=[], lower_levels=[], upper_levels=[])
        source.data = data

    def _set_loss_axis(self, min_value):
        fig = self.loss_figure
        axis = fig.yaxis[0]
        if min_value is None:  # unbounded below (a saddle): the loss goes negative
            fig.y_scale = LinearScale()
            axis.ticker = BasicTicker()
            axis.formatter = BasicTickFormatter()
            axis.axis_label = "loss"
            fig.title.text = "Loss vs step"
        else:
            fig.y_scale = LogScale()
            axis.ticker = LogTicker()
            axis.formatter = LogTickFormatter()
            axis.axis_label = "loss" if min_value == 0 else "loss − minimum"
            fig.title.text = "Loss vs step (log scale)"

