"""Lesson 2 — Gradient descent on a 2-D landscape: tap a start, step, play, race optimizers.

The landscape's loss and gradient come from `landscapes`, every path from `optimizers.descend`.
Each change (start, η, optimizer, hyperparameters, racers, steps) computes the whole path for
the step budget at once; `shown` says how many of its steps are on screen. "Step downhill"
and "Reset" set `shown` (a hidden widget) from the browser and the server draws the steps;
"Play" reveals the precomputed steps in the browser itself (see app/descent_js.py), so a playing
animation costs the server nothing until it stops and reports where.
"""

import functools
import html
import math
from typing import NamedTuple

import numpy as np
import panel as pn
import param
from bokeh.events import DoubleTap, Tap
from bokeh.models import (
    Arrow,
    BasicTicker,
    BasicTickFormatter,
    ColorBar,
    ColumnDataSource,
    CustomJS,
    LinearColorMapper,
    LinearScale,
    LogColorMapper,
    LogScale,
    LogTicker,
    LogTickFormatter,
    Range1d,
    VeeHead,
)
from bokeh.plotting.contour import contour_data

import landscapes
import optimizers
from app import theme
from app.controls import answer_drags_at_once, log_slider
from app.descent_js import CLIP_JS, FMT_JS, PLAY_JS, RESET_JS, STEP_JS  # noqa: F401 (FMT_JS: tests)
from app.lesson_api import changed_settings, csv_number

INTRO = (
    "Gradient descent repeats one move: compute the gradient ∇L (it points uphill) and step "
    "against it, scaled by the **learning rate η**. **Tap** the map to place the start (white "
    "dot), then press **Step downhill** or **Play**. Too small an η crawls; too large an η "
    "zig-zags across the valley and, past a critical value, flies off."
)
FORMULA = r"$w \leftarrow w - \eta\, \nabla L(w)$"

OPTIMIZER_TITLES = {
    "sgd": "SGD",
    "momentum": "Momentum",
    "nesterov": "Nesterov",
    "adagrad": "AdaGrad",
    "rmsprop": "RMSprop",
    "adam": "Adam",
    "adamw": "AdamW",
    "lion": "Lion",
}
HYPER_LABELS = {
    "momentum": "Momentum",
    "dampening": "Dampening",
    "weight_decay": "Weight decay",
    "nesterov": "Nesterov",
    "lr_decay": "η decay",
    "initial_accumulator_value": "Initial accumulator",
    "eps": "ε",
    "alpha": "α (smoothing)",
    "centered": "Centered",
    "amsgrad": "AMSGrad",
}

MAX_RACERS = 4
# What the rest of the landscape's row takes, in CSS px, from a lesson width on (see
# theme.equal_scale_css): the controls and the side column beside it on a laptop, the controls
# alone on a projector (the side column wraps below), nothing on a phone.
LANDSCAPE_BESIDE = {0: 24, theme.NARROW: theme.CONTROLS_WIDTH + 30,
                    1180: theme.CONTROLS_WIDTH + theme.SIDE_FIGURE_WIDTH + 40}
LANDSCAPE_ORDER_CSS = (f"@container downhill-lesson (max-width: {theme.NARROW - 1}px) "
                       "{ :host { order: -1; } }")
LR_MIN, LR_MAX = 1e-6, 10.0  # what η may be (typed, or a landscape's own default)
SLIDER_MIN = 1e-4  # the slider spans 1e-4 … 10; smaller η pin it to its left end
GRID = 160  # heatmap cells per side: sharp at 500 px, about 100 kB as float32
ARROW_FRACTION = 0.14  # the −∇L arrow is this fraction of the display width long


def optimizer_title(name):
    return OPTIMIZER_TITLES.get(name, name)


def fmt(value, digits=4):
    """A number as the status prints it (the Play animation formats the same way in JS)."""
    if not np.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    return f"{value:.{digits}g}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")


def check_learning_rate(value):
    """The typed learning rate, or a message saying why it cannot be used."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None, "Type a number for η, such as 0.1."
    if not math.isfinite(value):
        return None, "η must be a finite number, such as 0.1."
    if value <= 0:
        return None, "η must be positive: a step of −η·∇L with η ≤ 0 goes uphill or nowhere."
    if value < LR_MIN or value > LR_MAX:
        return None, f"η must lie between {LR_MIN:g} and {LR_MAX:g}."
    return value, ""


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


def status_entry(label, color, k, point, loss, grad_norm, diverged_at):
    """One racer's status line (HTML). PLAY_JS builds exactly the same line in the browser."""
    head = (
        f"<span style='color:{color}'>&#9679;</span> <b>{html.escape(label)}</b> "
        f"&middot; step <b>{k}</b>"
    )
    if 0 <= diverged_at <= k:
        return (
            f"<div>{head} &middot; <b class='downhill-warning'>diverged at step "
            f"{diverged_at}</b>: it ran off to infinity</div>"
        )
    return (
        f"<div>{head} &middot; (x, y) = ({fmt(point[0])}, {fmt(point[1])}) &middot; "
        f"loss <b>{fmt(loss)}</b> &middot; |∇L| {fmt(grad_norm)}</div>"
    )


STATUS_CSS = f"""
.downhill-status {{ font-size: 15px; line-height: 1.6; color: {theme.TEXT_COLOR};
  font-variant-numeric: tabular-nums; }}
.downhill-warning {{ color: #b3261e; }}
"""
MESSAGE_CSS = """
.downhill-message { color: #b3261e; font-size: 14px; font-weight: 600; }
"""


class NamedHTML(pn.pane.HTML):
    """An HTML pane whose Bokeh model carries a stable `name` (a test handle, app/README.md).

    The status changes on every tap, step and η change, so it is an HTML pane rather than a
    Bokeh Div: BokehJS (3.10) answers any change to a Div by re-rendering it and laying out
    the whole page again (MarkupView.rerender → compute_layout of the layout root, which
    measures every figure anew), while Panel's HTML view only replaces its innerHTML. The
    model's `text` is the HTML, escaped (Panel's HTML model unescapes it in the browser).
    """

    model_name = param.String(default="", doc="The Bokeh model's name")

    priority = False  # never chosen by pn.panel() for an arbitrary object
    _rename = {"model_name": None}

    def _get_model(self, doc, root=None, parent=None, comm=None):
        model = super()._get_model(doc, root, parent, comm)
        model.name = self.model_name
        return model



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
    (xmin, xmax), (ymin, ymax) = chosen.bounds
    xs = xmin + (np.arange(GRID) + 0.5) * (xmax - xmin) / GRID
    ys = ymin + (np.arange(GRID) + 0.5) * (ymax - ymin) / GRID
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)
    with np.errstate(all="ignore"):
        values = np.asarray(chosen.loss(grid), dtype=float)
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

class GradientDescent(pn.viewable.Viewer):
    """Lesson 2: gradient descent (and its adaptive cousins) on a 2-D loss landscape.

    `GradientDescent(landscape="rosenbrock")` starts on another landscape, from its own
    default start and learning rate.
    """

    landscape = param.Selector(default="bowl", objects=landscapes.names(), doc="Landscape id")
    optimizer = param.Selector(default="sgd", objects=optimizers.names(), doc="Optimizer id")
    learning_rate = param.Number(default=0.1, bounds=(LR_MIN, LR_MAX), doc="Learning rate η")
    hyperparameters = param.Dict(
        default={}, doc="The optimizer's hyperparameters other than lr (torch's names)"
    )
    racers = param.List(default=[], item_type=str, doc="Up to three optimizers racing along")
    start = param.NumericTuple(default=(4.0, 3.0), length=2, doc="Start point (x, y)")
    steps = param.Integer(default=100, bounds=(1, 2000), doc="Steps computed (the budget)")
    shown = param.Integer(default=0, bounds=(0, None), doc="Steps on screen")
    speed = param.Integer(default=10, bounds=(1, 60), doc="Play speed in steps per second")

    def __init__(self, **params):
        chosen = landscapes.get(params.get("landscape", self.param.landscape.default))
        params.setdefault("start", chosen.start)
        params.setdefault("learning_rate", chosen.lr)
        super().__init__(**params)
        self.runs = []
        self._trajectory = {}
        self._labelled = None  # the racers the legends name now (see _label_racers)
        self._updating = False
        self._build_landscape_figure()
        self._build_loss_figure()
        self._build_controls()
        self._draw_landscape()
        self._recompute()
        self.param.watch(self._on_landscape, "landscape")
        self.param.watch(self._on_optimizer, "optimizer")
        self.param.watch(
            self._on_path_change,
            ["learning_rate", "hyperparameters", "racers", "start", "steps"],
        )
        self.param.watch(self._on_shown, "shown")
        self._layout = self._build_layout()

    # ------------------------------------------------------------------- public actions

    @property
    def surface(self):
        """The chosen landscape object from `landscapes`."""
        return landscapes.get(self.landscape)

    def racer_names(self):
        """The optimizers on the map: the chosen one first, then the racers."""
        return [self.optimizer, *self.racers][:MAX_RACERS]

    def step(self):
        """Show one more step (computing a longer path when the budget is used up)."""
        self.shown = min(self.shown + 1, self.param.steps.bounds[1])

    def reset(self):
        """Back to the start point (the path is kept, none of it shown)."""
        self.shown = 0

    def place_start(self, x, y):
        """Start from (x, y): the path is recomputed and the same number of steps shown."""
        if math.isfinite(x) and math.isfinite(y):
            self.start = (float(x), float(y))

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
        self.image_source = ColumnDataSource(
            {"image": [], "x": [], "y": [], "dw": [], "dh": []}, name="landscape-image"
        )
        self.linear_mapper = LinearColorMapper(palette=theme.LOSS_PALETTE)
        self.log_mapper = LogColorMapper(palette=theme.LOSS_PALETTE)
        self.image_renderer = fig.image(
            image="image", x="x", y="y", dw="dw", dh="dh", source=self.image_source,
            color_mapper=self.linear_mapper,
        )
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

        self.minima_source = ColumnDataSource({"x": [], "y": []}, name="landscape-minima")
        self.minima_renderer = fig.scatter(
            "x", "y", source=self.minima_source, marker="star", size=20,
            fill_color=theme.MINIMUM_COLOR, line_color="black", line_width=1.2,
            legend_label="minimum",
        )

        self.path_sources, self.path_renderers, self.dot_renderers = [], [], []
        for slot in range(MAX_RACERS):
            name = "landscape-path" if slot == 0 else f"landscape-path-{slot + 1}"
            source = ColumnDataSource({"x": [], "y": []}, name=name)
            color = theme.RACE_COLORS[slot]
            line = fig.line("x", "y", source=source, color=color, line_width=2.5,
                            legend_label=f"racer {slot + 1}")
            dots = fig.scatter("x", "y", source=source, size=7, fill_color=color,
                               line_color="black", line_width=0.8)
            self.path_sources.append(source)
            self.path_renderers.append(line)
            self.dot_renderers.append(dots)

        self.arrow_source = ColumnDataSource(
            {"x0": [], "y0": [], "x1": [], "y1": []}, name="gradient-arrow"
        )
        arrow = Arrow(
            end=VeeHead(size=14, fill_color=theme.ARROW_COLOR, line_color="black",
                        line_width=1),
            x_start="x0", y_start="y0", x_end="x1", y_end="y1", source=self.arrow_source,
            line_color=theme.ARROW_COLOR, line_width=3, name="gradient-arrow-annotation",
        )
        fig.add_layout(arrow)
        self.start_source = ColumnDataSource({"x": [], "y": []}, name="landscape-start")
        start = fig.scatter("x", "y", source=self.start_source, size=15,
                            fill_color=theme.START_COLOR, line_color="black", line_width=2,
                            legend_label="start (tap to move)")
        theme.style_legend(fig, "top_left")
        fig.legend.background_fill_alpha = 0.75
        moving = [*self.path_renderers, *self.dot_renderers, start, arrow, *fig.legend]
        to_overlay = CustomJS(args=dict(moving=moving, plot=fig), code=CLIP_JS)
        self.path_sources[0].js_on_change("data", to_overlay)
        fig.x_range.js_on_change("start", to_overlay)
        fig.y_range.js_on_change("start", to_overlay)
        fig.on_event(Tap, self._on_tap)
        # BokehJS turns a second tap within 300 ms into a DoubleTap: treat it as a tap too.
        fig.on_event(DoubleTap, self._on_tap)
        self.trajectory_source = ColumnDataSource({"step": []}, name="landscape-trajectory")
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
        for slot in range(MAX_RACERS):
            name = "loss-curve" if slot == 0 else f"loss-curve-{slot + 1}"
            source = ColumnDataSource({"step": [], "loss": []}, name=name)
            renderer = fig.line("step", "loss", source=source, color=theme.RACE_COLORS[slot],
                                line_width=2.5, legend_label=f"racer {slot + 1}")
            self.loss_sources.append(source)
            self.loss_renderers.append(renderer)
        # Losses fall from the top left, so the bottom left is the emptiest corner.
        theme.style_legend(fig, "bottom_left")
        # Bright race colours need a dark backdrop here as on the heatmap.
        fig.background_fill_color = "#2b1a3d"
        fig.grid.grid_line_color = "#ffffff"
        fig.grid.grid_line_alpha = 0.15
        self.loss_figure = fig

    # ------------------------------------------------------------------- controls

    def _build_controls(self):
        self.landscape_select = pn.widgets.Select.from_param(
            self.param.landscape, label="Landscape",
            options={landscapes.get(n).title: n for n in landscapes.names()},
            sizing_mode="stretch_width",
        )
        self.optimizer_select = pn.widgets.Select.from_param(
            self.param.optimizer, label="Optimizer",
            options={optimizer_title(n): n for n in optimizers.names()},
            sizing_mode="stretch_width",
        )
        self.lr_slider = log_slider(
            self, "learning_rate", "Learning rate", SLIDER_MIN, LR_MAX, step=0.01,
            sizing_mode="stretch_width",
        )
        self.lr_input = pn.widgets.FloatInput(
            label="Type η", value=self.learning_rate, step=0.01, sizing_mode="stretch_width"
        )
        self.lr_input.param.watch(self._on_typed_lr, "value")
        self.param.watch(self._sync_typed_lr, "learning_rate")
        self.message = pn.pane.HTML("", stylesheets=[MESSAGE_CSS], margin=(0, 10),
                                    sizing_mode="stretch_width")
        self.step_button = pn.widgets.Button(label="Step downhill", color="primary",
                                             width=130, margin=(5, 4, 5, 10))
        self.play_button = pn.widgets.Button(label="Play", color="success", width=66,
                                             margin=(5, 4))
        self.reset_button = pn.widgets.Button(label="Reset", width=66, margin=(5, 4))
        self.speed_slider = pn.widgets.IntSlider.from_param(
            self.param.speed, label="Speed (steps/s)", sizing_mode="stretch_width"
        )
        self.steps_slider = pn.widgets.IntSlider.from_param(
            self.param.steps, label="Steps", sizing_mode="stretch_width"
        )
        # Step downhill sets this hidden input in the browser: one change per click, so the
        # server may answer it at once instead of after Panel's 50 ms debounce.
        self.shown_input = answer_drags_at_once(pn.widgets.IntInput.from_param(
            self.param.shown, label="Steps shown", visible=False
        ))
        self.race_choice = pn.widgets.MultiChoice(
            label="Race against (same η)", options={}, max_items=MAX_RACERS - 1,
            sizing_mode="stretch_width",
        )
        self._update_race_options()
        self.race_choice.param.watch(self._on_race_choice, "value")
        self.hyper_box = pn.GridBox(ncols=2, sizing_mode="stretch_width")
        self._build_hyper_widgets()
        self.status = NamedHTML("", model_name="landscape-status", stylesheets=[STATUS_CSS],
                                sizing_mode="stretch_width", margin=(5, 10))
        self.landscape_info = pn.pane.HTML("", sizing_mode="stretch_width", margin=(0, 10),
                                           stylesheets=[STATUS_CSS])

        js_args = dict(
            traj=self.trajectory_source, paths=self.path_sources, losses=self.loss_sources,
            arrow=self.arrow_source, status=self.status, shown=self.shown_input,
            play=self.play_button, speed=self.speed_slider,
        )
        # All three buttons act in the browser and talk to the server through `shown` alone,
        # so a step pressed right after a pause can never overtake the pause's position.
        self.play_button.js_on_click(args=js_args, code=PLAY_JS)
        self.step_button.js_on_click(args=js_args, code=STEP_JS)
        self.reset_button.js_on_click(args=js_args, code=RESET_JS)

    def _build_hyper_widgets(self):
        """Widgets for the chosen optimizer's hyperparameters, from optimizers.get's defaults."""
        defaults = optimizers.get(self.optimizer).hyper
        values = {**defaults, **self.hyperparameters}
        widgets = []
        for key, value in values.items():
            if key == "lr":
                continue
            if key == "betas":
                for i, beta in enumerate(value):
                    widget = pn.widgets.FloatInput(
                        label=f"β{'₁₂'[i]}", value=float(beta), step=0.001, start=0.0,
                        end=0.9999, width=125,
                    )
                    widget.param.watch(self._on_hyper_edit, "value")
                    widget._downhill_key = ("betas", i)
                    widgets.append(widget)
            elif isinstance(value, bool):
                widget = pn.widgets.Checkbox(label=HYPER_LABELS.get(key, key), value=value,
                                             width=125, margin=(18, 10, 5, 10))
                widget.param.watch(self._on_hyper_edit, "value")
                widget._downhill_key = (key, None)
                widgets.append(widget)
            else:
                widget = pn.widgets.FloatInput(
                    label=HYPER_LABELS.get(key, key), value=float(value),
                    step=0.01 if key != "eps" else 1e-8, start=0.0, width=125,
                )
                widget.param.watch(self._on_hyper_edit, "value")
                widget._downhill_key = (key, None)
                widgets.append(widget)
        self.hyper_widgets = widgets
        self.hyper_box.objects = widgets

    # ------------------------------------------------------------------- events

    def _on_tap(self, event):
        # Only taps on the map: a tap event can carry any coordinates (a scripted client, a
        # zoomed-out view), and a start far outside the landscape is nothing to learn from.
        (xmin, xmax), (ymin, ymax) = self.surface.bounds
        if event.x is None or event.y is None:
            return
        if xmin <= event.x <= xmax and ymin <= event.y <= ymax:
            self.place_start(event.x, event.y)

    def _on_typed_lr(self, event):
        if self._updating:
            return
        value, problem = check_learning_rate(event.new)
        if problem:
            self.message.object = f"<div class='downhill-message'>{html.escape(problem)}</div>"
            self._updating = True
            try:
                self.lr_input.value = self.learning_rate
            finally:
                self._updating = False
            return
        self.message.object = ""
        self.learning_rate = value

    def _sync_typed_lr(self, event):
        if self.lr_input.value != event.new:
            self._updating = True
            try:
                self.lr_input.value = event.new
            finally:
                self._updating = False

    def _on_hyper_edit(self, event):
        if self._updating:
            return
        hyper = dict(self.hyperparameters)
        key, index = event.obj._downhill_key
        if key == "betas":
            betas = list(hyper.get("betas", optimizers.get(self.optimizer).hyper["betas"]))
            betas[index] = event.new
            value = tuple(betas)
        else:
            value = event.new
        hyper[key] = value
        try:
            optimizers.get(self.optimizer, lr=self.learning_rate, **hyper)
        except (TypeError, ValueError) as error:
            self.message.object = (
                f"<div class='downhill-message'>{html.escape(str(error))}</div>"
            )
            return
        self.message.object = ""
        self.hyperparameters = hyper

    def _on_race_choice(self, event):
        self.racers = [name for name in event.new if name != self.optimizer][: MAX_RACERS - 1]

    def _update_race_options(self):
        self.race_choice.options = {
            optimizer_title(n): n for n in optimizers.names() if n != self.optimizer
        }

    def _on_landscape(self, _event):
        chosen = self.surface
        self._updating = True
        try:
            self.param.update(start=chosen.start, learning_rate=chosen.lr, shown=0)
        finally:
            self._updating = False
        self.message.object = ""
        with pn.io.hold():
            self._draw_landscape()
            self._recompute()

    def _on_optimizer(self, _event):
        self._updating = True
        try:
            self.hyperparameters = {}
            self.racers = [n for n in self.racers if n != self.optimizer]
            self.race_choice.value = list(self.racers)
            self._update_race_options()
            self._build_hyper_widgets()
        finally:
            self._updating = False
        self.message.object = ""
        self._recompute()

    def _on_path_change(self, *_events):
        if self._updating:
            return
        self._recompute()

    def _on_shown(self, _event):
        if self._updating:
            return
        if self.shown > self.steps:  # stepping past the budget computes a longer path
            self._updating = True
            try:
                self.steps = min(self.shown, self.param.steps.bounds[1])
                self.shown = self.steps
            finally:
                self._updating = False
            self._recompute()
            return
        self._reveal()

    # ------------------------------------------------------------------- drawing

    def _draw_landscape(self):
        chosen = self.surface
        (xmin, xmax), (ymin, ymax) = chosen.bounds
        picture = landscape_picture(self.landscape)
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
            self.landscape_figure.title.text = f"{chosen.title}"
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

    def _recompute(self):
        """Compute every racer's path for the whole step budget from the current start."""
        chosen = self.surface
        start = np.array(self.start, dtype=float)
        self.runs = []
        for slot, name in enumerate(self.racer_names()):
            hyper = self.hyperparameters if slot == 0 else {}
            opt = optimizers.get(name, lr=float(self.learning_rate), **hyper)
            self.runs.append(optimizers.descend(chosen, opt, start, steps=int(self.steps)))
        (xmin, xmax), (ymin, ymax) = chosen.bounds
        length = ARROW_FRACTION * min(xmax - xmin, ymax - ymin)
        data = {"step": np.arange(self.steps + 1)}
        tags = []
        for slot, run in enumerate(self.runs):
            name = self.racer_names()[slot]
            data[f"x{slot}"] = run.points[:, 0]
            data[f"y{slot}"] = run.points[:, 1]
            data[f"loss{slot}"] = run.losses
            data[f"lossplot{slot}"] = (
                loss_for_log_axis(run.losses, chosen.min_value)
                if chosen.min_value is not None else run.losses
            )
            data[f"gnorm{slot}"] = np.sqrt(np.sum(run.grads * run.grads, axis=-1))
            if slot == 0:
                tips = arrow_tips(run.points, run.grads, length)
                data["ax0"], data["ay0"] = tips[:, 0], tips[:, 1]
            tags.append({
                "label": self.racer_label(slot),
                "color": theme.RACE_COLORS[slot],
                "diverged_at": int(run.diverged_at),
                "name": name,
            })
        if self.shown > self.steps:
            self._updating = True
            try:
                self.shown = self.steps
            finally:
                self._updating = False
        self._trajectory = data
        log = chosen.min_value is not None
        low, high = snapped_loss_range(*loss_axis_range(
            [data[f"lossplot{slot}"] for slot in range(len(self.runs))], log=log), log=log)
        # Panel sends each model change as a message of its own, and the browser may paint
        # between two messages: what the student looks at (the path) goes first, the whole
        # precomputed trajectory (only Play reads it) last.
        with pn.io.hold():
            self.start_source.data = {"x": [start[0]], "y": [start[1]]}
            self._reveal()
            self.loss_figure.x_range.update(start=0, end=int(self.steps))
            self.loss_figure.y_range.update(start=low, end=high)
            self._label_racers()
            self.trajectory_source.tags = tags
            self.trajectory_source.data = data

    def racer_label(self, slot):
        name = self.racer_names()[slot]
        return f"{optimizer_title(name)}, η = {fmt(float(self.learning_rate))}"

    def _label_racers(self):
        racers = tuple(self.racer_names()[: len(self.runs)])
        if racers == self._labelled:  # a new start or η: same names, nothing to resend
            return
        self._labelled = racers
        legend_items = {item.renderers[0]: item for item in self.landscape_figure.legend.items}
        loss_items = {item.renderers[0]: item for item in self.loss_figure.legend.items}
        for slot in range(MAX_RACERS):
            active = slot < len(self.runs)
            # The optimizer's name only: η is in the status line beside it. A legend entry
            # that changes size with every η makes BokehJS lay out the whole page again.
            label = optimizer_title(self.racer_names()[slot]) if active else f"racer {slot + 1}"
            for renderer, items in (
                (self.path_renderers[slot], legend_items),
                (self.loss_renderers[slot], loss_items),
            ):
                renderer.visible = active
                items[renderer].visible = active
                items[renderer].label = {"value": label}
            self.dot_renderers[slot].visible = active

    def _reveal(self):
        """Put the first `shown` steps of every path on screen, with the arrow and status."""
        k = int(self.shown)
        data = self._trajectory
        lines = []
        with pn.io.hold():
            for slot in range(MAX_RACERS):
                if slot < len(self.runs):
                    run = self.runs[slot]
                    self.path_sources[slot].data = {
                        "x": run.points[: k + 1, 0], "y": run.points[: k + 1, 1]
                    }
                    self.loss_sources[slot].data = {
                        "step": np.arange(k + 1), "loss": data[f"lossplot{slot}"][: k + 1]
                    }
                    lines.append(status_entry(
                        self.racer_label(slot), theme.RACE_COLORS[slot], k, run.points[k],
                        float(run.losses[k]), float(data[f"gnorm{slot}"][k]),
                        int(run.diverged_at),
                    ))
                else:  # an idle racer's sources stay empty; resending them costs a repaint
                    for source in (self.path_sources[slot], self.loss_sources[slot]):
                        if any(len(column) for column in source.data.values()):
                            source.data = {name: [] for name in source.data}
            tip = (data["ax0"][k], data["ay0"][k])
            if np.isfinite(tip).all():
                point = self.runs[0].points[k]
                self.arrow_source.data = {
                    "x0": [point[0]], "y0": [point[1]], "x1": [tip[0]], "y1": [tip[1]]
                }
            else:
                self.arrow_source.data = {"x0": [], "y0": [], "x1": [], "y1": []}
            self.status.object = f"<div class='downhill-status'>{''.join(lines)}</div>"

    # ------------------------------------------------------------------- layout

    def _build_layout(self):
        buttons = pn.Row(self.step_button, self.play_button, self.reset_button)
        controls = pn.Column(
            self.lr_slider,
            self.lr_input,
            self.message,
            buttons,
            self.speed_slider,
            self.steps_slider,
            self.landscape_select,
            self.optimizer_select,
            self.hyper_box,
            self.race_choice,
            self.shown_input,
            width=theme.CONTROLS_WIDTH,
        )
        explanation = pn.Column(
            pn.pane.Markdown(INTRO, sizing_mode="stretch_width", margin=(0, 10),
                             styles=theme.TEXT_STYLE),
            pn.Row(
                pn.pane.LaTeX(FORMULA, styles={"font-size": "1.15em"}, margin=(0, 10)),
                self.landscape_formula,
            ),
            self.landscape_info,
            sizing_mode="stretch_width",
        )
        side = pn.Column(
            self.status,
            self.loss_figure,
            explanation,
            sizing_mode="stretch_width",
            min_width=theme.SIDE_FIGURE_WIDTH,
        )
        # The row wraps (theme.responsive): on a laptop the three columns stand side by side,
        # on a projector the status, loss plot and text go below the map, and on a phone the
        # map comes first, then the controls (η and the buttons right below it).
        return theme.responsive(pn.Row(
            controls, self.landscape_figure, side, sizing_mode="stretch_width",
        ))

    @property
    def landscape_formula(self):
        if not hasattr(self, "_landscape_formula"):
            self._landscape_formula = pn.pane.LaTeX("", styles={"font-size": "1.05em"},
                                                    margin=(0, 10))
        return self._landscape_formula

    # ---------------------------------------------------------------- lecture interface
    # (app/lesson_api.py)

    key = "descent"
    link_params = ("landscape", "optimizer", "learning_rate", "hyperparameters", "racers",
                   "start", "steps", "shown", "speed")
    csv_filename = "downhill-gradient-descent.csv"

    @classmethod
    def from_settings(cls, settings):
        lesson = cls(**{name: value for name, value in settings.items() if name != "racers"})
        if settings.get("racers"):
            lesson.race_choice.value = list(settings["racers"])
        return lesson

    def settings(self):
        surface = landscapes.get(self.landscape)
        defaults = {"landscape": "bowl", "optimizer": "sgd", "learning_rate": surface.lr,
                    "hyperparameters": {}, "racers": [], "start": tuple(surface.start),
                    "steps": 100, "shown": 0, "speed": 10}
        return changed_settings(self, self.link_params, defaults)

    def apply_settings(self, settings):
        landscape = settings.get("landscape", self.param.landscape.default)
        optimizer = settings.get("optimizer", self.param.optimizer.default)
        if self.landscape != landscape:
            self.landscape = landscape  # resets start, η and the steps shown
        if self.optimizer != optimizer:
            self.optimizer = optimizer  # resets the hyperparameters
        hyper = dict(settings.get("hyperparameters", {}))
        if hyper != self.hyperparameters:
            self.hyperparameters = hyper
            self._build_hyper_widgets()  # the widgets show the new values
        self.race_choice.value = list(settings.get("racers", []))
        surface = landscapes.get(landscape)
        self.param.update(
            learning_rate=settings.get("learning_rate", surface.lr),
            start=tuple(settings.get("start", surface.start)),
            steps=settings.get("steps", self.param.steps.default),
            speed=settings.get("speed", self.param.speed.default),
        )
        self.shown = settings.get("shown", 0)

    def stop_animations(self):
        """Play runs in the browser and reports where it stopped; the server animates nothing."""

    def path_rows(self):
        """Every racer's path, steps 0 … shown."""
        rows = []
        for name, run in zip(self.racer_names(), self.runs, strict=True):
            for step in range(int(self.shown) + 1):
                x, y = run.points[step]
                rows.append((step, csv_number(x), csv_number(y), csv_number(run.losses[step]),
                             name, csv_number(self.learning_rate)))
        return rows

    def status_text(self):
        if not self.runs:
            return ""
        k = int(self.shown)
        run = self.runs[0]
        name = optimizer_title(self.optimizer)
        if 0 <= run.diverged_at <= k:
            return f"Gradient descent, {name}: step {k}, diverged at step {run.diverged_at}."
        x, y = run.points[k]
        return (f"Gradient descent, {name}: step {k}, point (x, y) = ({fmt(x)}, {fmt(y)}), "
                f"loss {fmt(float(run.losses[k]))}.")

    def __panel__(self):
        return self._layout
