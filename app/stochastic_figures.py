"""Lesson 4's figures: the line fit, the (m, b) loss map, the loss and schedule plots and the
saddle race, each built once per lesson (afterwards only their sources' data change).

`StochasticFigures` is a mixin of `StochasticAdaptive` (app/stochastic.py: the state, the
runs and the callbacks). The lesson's names (paths, racers, their colours and titles) live
here because the figures draw them; stochastic.py re-exports them.
"""


import numpy as np
from bokeh.events import DoubleTap, Tap
from bokeh.models import (
    Arrow,
    ColorBar,
    ColumnDataSource,
    LinearColorMapper,
    LogColorMapper,
    Range1d,
    VeeHead,
)

from app import theme

LINE_FIT = "line-fit"
SADDLE = "plateau-saddle"
MAX_STEPS = 150
PATHS = ("full", "mini", "sgd")
PATH_TITLES = {"full": "Full batch", "mini": "Mini-batch", "sgd": "SGD"}
# Okabe–Ito colours that stand apart on viridis and for every common colour-vision deficiency.
PATH_COLORS = {"full": "#ffffff", "mini": "#56b4e9", "sgd": "#ff6e3a"}
RACERS = ("sgd", "momentum", "rmsprop", "adam")
# SGD and momentum share the line y ≈ 0.05 on the plateau: momentum dashed, SGD on top.
RACER_DASHES = {"sgd": "solid", "momentum": "dashed", "rmsprop": "solid", "adam": "solid"}
RACER_WIDTHS = {"sgd": 4, "momentum": 2.5, "rmsprop": 2.5, "adam": 2.5}
RACER_ORDER = ("momentum", "rmsprop", "adam", "sgd")
RACER_TITLES = {"sgd": "SGD", "momentum": "Momentum", "rmsprop": "RMSprop", "adam": "Adam"}
RACER_COLORS = {"sgd": "#ff6e3a", "momentum": "#f0e442", "rmsprop": "#56b4e9",
                "adam": "#cc79a7"}
BATCH_COLOR = "#d55e00"
DATA_COLOR = "#8c959f"
LINE_COLOR = "#0072b2"
# The inspector's arrows on the loss map and the saddle: downhill (−∇L, white as lesson 2's
# gradient arrow, dashed: a direction) and the step actually made (Okabe–Ito yellow, outlined).
GRADIENT_ARROW_COLOR = theme.ARROW_COLOR
STEP_ARROW_COLOR = "#f0e442"
SCHEDULES = ("Constant", "Step decay", "Cosine", "Warmup", "Warmup + cosine")
STEP_DECAY_EVERY = 40
STEP_DECAY_GAMMA = 0.5
WARMUP_STEPS = 10
GRID = 160


def _figure(name, title, width, height, **options):
    """A lesson figure that is `width` wide on a laptop and grows with a wider screen."""
    return theme.make_figure(name, title=title, min_width=width, height=height,
                             sizing_mode="stretch_width", tools="pan,wheel_zoom,reset,save",
                             **options)


# What the rest of a landscape's row takes (CSS px) from a lesson width on: the controls and
# the figure beside it on a laptop; below that the landscape wraps onto a line of its own.
LANDSCAPE_BESIDE = {0: 24, 1300: 300 + 440 + 50}


def _heatmap(fig, landscape, log):
    """The landscape's loss as an image with contour lines (computed once per figure)."""
    (x0, x1), (y0, y1) = landscape.bounds
    xs, ys = np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)
    loss = np.asarray(landscape.loss(grid), dtype=np.float64)
    low, high = float(np.min(loss)), float(np.max(loss))
    if log:
        mapper = LogColorMapper(palette=theme.LOSS_PALETTE, low=low, high=high)
        levels = np.geomspace(low * 1.05, high, 12)
    else:
        mapper = LinearColorMapper(palette=theme.LOSS_PALETTE, low=low, high=high)
        levels = np.linspace(low, high, 16)[1:-1]
    fig.image(image=[loss], x=x0, y=y0, dw=x1 - x0, dh=y1 - y0, color_mapper=mapper,
              level="image")
    fig.contour(xs, ys, loss, levels, line_color=theme.CONTOUR_COLOR,
                line_alpha=theme.CONTOUR_ALPHA, line_width=1)
    fig.add_layout(ColorBar(color_mapper=mapper, width=10, label_standoff=6,
                            major_label_text_font_size="12px", title="loss",
                            title_text_font_size="12px"), "right")
    fig.x_range = Range1d(x0, x1)
    fig.y_range = Range1d(y0, y1)
    # A landscape: its frame keeps the data's aspect (equal scale on m and b) at every width.
    fig.update(tags=[*fig.tags, theme.EQUAL_SCALE_TAG],
               stylesheets=[theme.equal_scale_css(x1 - x0, y1 - y0, LANDSCAPE_BESIDE)],
               **{f"min_border_{side}": px for side, px in theme.FRAME_BORDERS.items()})



def _arrow(fig, name, color, dashed=False, outlined=False):
    """An empty arrow source `name` (x0, y0, x1, y1) drawn on `fig` by `name`-annotation; the
    inspector (app/stochastic.py) fills it only while it is shown. `dashed`: a direction, not
    a move; `outlined`: a dark outline underneath, so it stands apart from a path of its colour
    (the saddle's momentum racer is yellow too)."""
    source = ColumnDataSource(data={"x0": [], "y0": [], "x1": [], "y1": []}, name=name)
    ends = dict(x_start="x0", y_start="y0", x_end="x1", y_end="y1", source=source)
    if outlined:
        fig.add_layout(Arrow(end=VeeHead(size=15, fill_color="#1f2328", line_color="#1f2328"),
                             line_color="#1f2328", line_width=6, **ends))
    fig.add_layout(Arrow(
        end=VeeHead(size=13, fill_color=color, line_color="#1f2328", line_width=1),
        line_color=color, line_width=3, line_dash="dashed" if dashed else "solid",
        name=f"{name}-annotation", **ends))
    return source


class StochasticFigures:
    """The figures of StochasticAdaptive (a mixin)."""

    # ---------------------------------------------------------------- figures

    def _build_linefit(self):
        x, y = self.landscape.data
        self.data_source = ColumnDataSource(
            data={"x": np.asarray(x), "y": np.asarray(y), "in_batch": [False] * len(x)},
            name="linefit-data")
        self.line_source = ColumnDataSource(data={"x": [], "y": []}, name="linefit-line")
        self.best_source = ColumnDataSource(data={"x": [], "y": []}, name="linefit-best")
        fig = _figure("linefit-figure", "Data and the current line ŷ = m·x + b", 440, 390,
                      x_axis_label="x", y_axis_label="y")
        fig.line("x", "y", source=self.best_source, line_color="#57606a", line_dash="dashed",
                 line_width=2, legend_label="least squares")
        fig.line("x", "y", source=self.line_source, line_color=LINE_COLOR, line_width=3,
                 legend_label="current line")
        self.batch_source = ColumnDataSource(data={"x": [], "y": []}, name="linefit-batch")
        fig.scatter("x", "y", source=self.data_source, size=7, fill_color=DATA_COLOR,
                    line_color="#1f2328", line_width=0.5, legend_label="data")
        fig.scatter("x", "y", source=self.batch_source, size=11, fill_color=BATCH_COLOR,
                    line_color="#1f2328", line_width=1, legend_label="next step's batch")
        fig.legend.location = "top_left"
        fig.legend.label_text_font_size = "13px"
        fig.legend.background_fill_alpha = 0.85
        self.linefit_figure = fig
        m, b = self.landscape.minima[0]
        self.best_source.data = self._line(m, b)
        # Fixed axes around the data: auto-ranging would follow the moving line, jump, and send
        # the new ranges to the server on every frame of Play.
        ends = self.best_source.data["x"]
        margin = 0.08 * (np.max(y) - np.min(y))
        fig.x_range = Range1d(float(ends[0]), float(ends[1]))
        fig.y_range = Range1d(float(np.min(y) - margin), float(np.max(y) + margin))

    def _line(self, m, b):
        """Two end points of y = m·x + b across the data (for drawing only)."""
        x = np.asarray(self.landscape.data[0])
        ends = np.array([x.min() - 0.2, x.max() + 0.2])
        return {"x": ends, "y": m * ends + b}

    def _build_contour(self):
        fig = _figure("minibatch-figure", "Loss over (m, b) — tap to move the start",
                      460, 390, x_axis_label="slope m", y_axis_label="intercept b")
        _heatmap(fig, self.landscape, log=True)
        self.path_sources = {}
        self.now_sources = {}
        for key in PATHS:
            source = ColumnDataSource(data={"x": [], "y": []}, name=f"minibatch-path-{key}")
            fig.line("x", "y", source=source, line_color=PATH_COLORS[key], line_width=2,
                     line_alpha=0.9, legend_label=PATH_TITLES[key])
            fig.scatter("x", "y", source=source, size=3.5, color=PATH_COLORS[key])
            now = ColumnDataSource(data={"x": [], "y": []}, name=f"minibatch-now-{key}")
            fig.scatter("x", "y", source=now, size=11, fill_color=PATH_COLORS[key],
                        line_color="#1f2328", line_width=1.5)
            self.path_sources[key], self.now_sources[key] = source, now
        m, b = self.landscape.minima[0]
        fig.scatter([m], [b], marker="x", size=14, line_color="#ffffff", line_width=3)
        self.start_source = ColumnDataSource(data={"x": [], "y": []}, name="minibatch-start")
        fig.scatter("x", "y", source=self.start_source, size=12, fill_color="#ffffff",
                    line_color="#1f2328", line_width=1.5)
        self.gradient_arrow_source = _arrow(fig, "stochastic-gradient-arrow",
                                            GRADIENT_ARROW_COLOR, dashed=True)
        self.step_arrow_source = _arrow(fig, "stochastic-step-arrow", STEP_ARROW_COLOR,
                                        outlined=True)
        fig.on_event(Tap, self._tapped)
        fig.on_event(DoubleTap, self._tapped)
        fig.legend.location = "bottom_left"
        fig.legend.label_text_font_size = "13px"
        fig.legend.background_fill_alpha = 0.75
        fig.legend.background_fill_color = "#1f2328"
        fig.legend.label_text_color = "#ffffff"
        self.contour_figure = fig
        self.trajectory_source = ColumnDataSource(data={"step": []},
                                                  name="minibatch-trajectory")

    def _build_loss(self):
        fig = _figure("minibatch-loss-figure", "Full-data loss per step", 440, 250,
                      x_axis_label="step", y_axis_label="loss", y_axis_type="log")
        self.loss_sources = {}
        for key in PATHS:
            source = ColumnDataSource(data={"step": [], "loss": []}, name=f"minibatch-loss-{key}")
            color = "#1f2328" if key == "full" else PATH_COLORS[key]
            fig.line("step", "loss", source=source, line_color=color, line_width=2,
                     legend_label=PATH_TITLES[key])
            self.loss_sources[key] = source
        fig.legend.location = "top_right"
        fig.legend.label_text_font_size = "12px"
        fig.x_range = Range1d(0, MAX_STEPS)
        # Set from the whole runs on each change (see _recompute), not auto-ranged per frame.
        fig.y_range = Range1d(1e-3, 1)
        self.loss_figure = fig

    def _build_schedule(self):
        fig = _figure("schedule-figure", "Learning rate η over the steps", 440, 250,
                      x_axis_label="step", y_axis_label="η")
        self.schedule_source = ColumnDataSource(data={"step": [], "lr": []},
                                                name="schedule-curve")
        self.schedule_now = ColumnDataSource(data={"step": [], "lr": []}, name="schedule-now")
        fig.line("step", "lr", source=self.schedule_source, line_color=LINE_COLOR, line_width=2)
        fig.scatter("step", "lr", source=self.schedule_now, size=10, fill_color=BATCH_COLOR,
                    line_color="#1f2328")
        fig.x_range = Range1d(0, MAX_STEPS)
        fig.y_range = Range1d(0, 1)
        self.schedule_figure = fig

    def _build_saddle(self):
        fig = _figure("saddle-figure", "Plateau saddle x² + y⁶/6 − y⁴/4: four optimizers",
                      440, 420, x_axis_label="x", y_axis_label="y")
        _heatmap(fig, self.saddle, log=False)
        loss_fig = _figure("saddle-loss-figure", "Loss per step: SGD stalls on the plateau",
                           440, 420, x_axis_label="step", y_axis_label="loss")
        self.race_sources, self.race_loss_sources = {}, {}
        for key in RACER_ORDER:
            source = ColumnDataSource(data={"x": [], "y": []}, name=f"saddle-path-{key}")
            fig.line("x", "y", source=source, line_color=RACER_COLORS[key],
                     line_width=RACER_WIDTHS[key], line_dash=RACER_DASHES[key],
                     legend_label=RACER_TITLES[key])
            fig.scatter("x", "y", source=source, size=3, color=RACER_COLORS[key])
            loss = ColumnDataSource(data={"step": [], "loss": []}, name=f"saddle-loss-{key}")
            color = "#b8860b" if key == "momentum" else RACER_COLORS[key]
            loss_fig.line("step", "loss", source=loss, line_color=color,
                          line_width=RACER_WIDTHS[key], line_dash=RACER_DASHES[key],
                          legend_label=RACER_TITLES[key])
            self.race_sources[key], self.race_loss_sources[key] = source, loss
        self.race_gradient_arrow_source = _arrow(fig, "saddle-gradient-arrow",
                                                 GRADIENT_ARROW_COLOR, dashed=True)
        self.race_step_arrow_source = _arrow(fig, "saddle-step-arrow", STEP_ARROW_COLOR,
                                             outlined=True)
        minima = np.asarray(self.saddle.minima)
        fig.scatter(minima[:, 0], minima[:, 1], marker="x", size=14, line_color="#ffffff",
                    line_width=3)
        fig.scatter([0], [0], marker="triangle", size=12, fill_color="#ffffff",
                    line_color="#1f2328")
        fig.scatter([self.saddle.start[0]], [self.saddle.start[1]], size=10,
                    fill_color="#ffffff", line_color="#1f2328")
        for f in (fig, loss_fig):
            f.legend.label_text_font_size = "13px"
            f.legend.background_fill_alpha = 0.85
        fig.legend.location = "bottom_left"
        loss_fig.legend.location = "top_right"
        self.saddle_figure, self.saddle_loss_figure = fig, loss_fig

