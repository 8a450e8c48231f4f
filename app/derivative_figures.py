"""Lesson 1's figures: the curve with tangent, secant and step arrow, the error of the
difference quotients against h, the shrinking secants, and the 1-D descent; each built once
per lesson (afterwards only their sources' data change).

`DerivativeFigures` is a mixin of `Derivative` (app/derivative.py: the state, callbacks,
readouts and lecture interface). Also here: the difference quotients and the fixed curves'
sample points the figures draw.
"""

import functools

import numpy as np
from bokeh.core.properties import field
from bokeh.models import (
    Arrow,
    Label,
    LegendItem,
    Line,
    MultiLine,
    NormalHead,
    Range1d,
    Scatter,
)

import landscapes
from app import theme

SECANT_AT = 1.0
SECANT_STEPS = (0.1, 0.01, 0.001)
ERROR_H = np.logspace(-12, 0, 121)
TANGENT_HALF_WIDTH = 1.6  # the tangent and secant are drawn this far either side of w
STEP_ARROW_LENGTH = 0.9  # in units of w: a fixed-length arrow shows only the direction
ZOOM_TOOLS = ("pan", "wheel_zoom", "reset", "save")
DESCENT_Y_RANGE = (-1.5, 27.0)  # the 1-D descent's loss axis (the quiz lowers its start)

# Where the fixed curves are drawn (the same for every page, so made once).
SLOPE_CURVE_W = np.linspace(*landscapes.curve("square").bounds, 301)
SECANT_CURVE_W = np.linspace(0.85, 1.2, 121)
DESCENT_CURVE_W = np.linspace(*landscapes.curve("shifted").bounds, 301)
for _ws in (SLOPE_CURVE_W, SECANT_CURVE_W, DESCENT_CURVE_W):
    _ws.flags.writeable = False


def forward_difference(loss, w, h):
    """(L(w+h) − L(w)) / h: the secant slope from w to w + h (h may be an array)."""
    return (loss(w + h) - loss(w)) / h


def central_difference(loss, w, h):
    """(L(w+h) − L(w−h)) / 2h: the numerical gradient of the lesson (h may be an array)."""
    return (loss(w + h) - loss(w - h)) / (2 * h)


def line_through(w, value, slope, half_width):
    """The two end points of the line with `slope` through (w, value), half_width either side."""
    ws = np.array([w - half_width, w + half_width])
    return ws, value + slope * (ws - w)


def positive_or_nan(values):
    """Values for a log axis: zero (an exact result) has no logarithm, so it becomes a gap."""
    values = np.abs(np.asarray(values, dtype=float))
    return np.where(values > 0, values, np.nan)




def fmt(value, digits=4):
    """A number as the lesson prints it: `digits` significant digits, no trailing noise."""
    if not np.isfinite(value):
        return "—"
    return f"{value:.{digits}g}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")


class DerivativeFigures:
    """The figures of Derivative (a mixin)."""

    # ---------------------------------------------------------------- figures, built once

    def _build_sources(self):
        """The data of the figures below the first screen. Their named sources are made when
        first used (the properties below: on a server, when the student scrolls to their
        figures, app/reveal.py); until then the lesson keeps their data current here
        (`_keep`), so a figure built later shows the current state."""
        self._later_data = {
            "error_forward_source": {"h": [], "error": []},
            "error_central_source": {"h": [], "error": []},
            "error_current_source": {"h": [], "error": [], "color": []},
            "descent_source": {"w": [], "loss": [], "step": []},
        }
        slopes = [float(forward_difference(self.curve.loss, SECANT_AT, h)) for h in SECANT_STEPS]
        self.secant_slopes = dict(zip(SECANT_STEPS, slopes, strict=True))

    def _keep(self, attribute, data):
        """Give the source `attribute` new data, or keep it for when the source is made."""
        self._later_data[attribute] = data
        if attribute in self.__dict__:  # made (functools.cached_property)
            getattr(self, attribute).data = data

    def _later_source(self, attribute, name):
        return self._source(self._later_data[attribute], name)

    @functools.cached_property
    def error_forward_source(self):
        return self._later_source("error_forward_source", "error-forward")

    @functools.cached_property
    def error_central_source(self):
        return self._later_source("error_central_source", "error-central")

    @functools.cached_property
    def error_current_source(self):
        return self._later_source("error_current_source", "error-current")

    @functools.cached_property
    def descent_source(self):
        return self._later_source("descent_source", "descent1d-path")

    @functools.cached_property
    def secants_source(self):
        loss_at = float(self.curve.loss(SECANT_AT))
        xs, ys = [], []
        for slope in self.secant_slopes.values():
            line_w, line_l = line_through(SECANT_AT, loss_at, slope, 0.25)
            xs.append(list(line_w))
            ys.append(list(line_l))
        return self._source(
            {
                "xs": xs,
                "ys": ys,
                "color": list(theme.SECANT_STEP_COLORS),
                "label": [f"h = {h:g}: slope {fmt(s, 6)}" for h, s in self.secant_slopes.items()],
            },
            "secant-lines",
        )

    def _figure(self, name, title, width, height, x_range, y_range, x_axis_label="w",
                y_axis_label="L(w)", tools=ZOOM_TOOLS, **axis_types):
        """One of the lesson's figures: the shared look, parts and toolbar (see theme)."""
        return theme.lesson_figure(
            name, self._shared, title=title, width=width, height=height,
            x_range=Range1d(*x_range), y_range=Range1d(*y_range), x_axis_label=x_axis_label,
            y_axis_label=y_axis_label, tools=tools, **axis_types,
        )

    def _draw(self, fig, source, glyph):
        return theme.draw(fig, self._shared, source, glyph)

    def _source(self, columns, name=None):
        return self._shared.source(columns, name)

    def _draw_curve(self, fig, curve, ws, name=None):
        """The loss curve L(w) over `ws`, in the lesson's curve style; returns the renderer."""
        source = self._source({"w": ws, "loss": curve.loss(ws)}, name)
        return self._draw(fig, source, Line(x="w", y="loss", line_color=theme.CURVE_COLOR,
                                            line_width=2.5))

    def _build_slope_figure(self):
        lo, hi = self.curve.bounds
        # Only "save": the whole curve is the picture (the secant figure is the zoomed view),
        # and on a phone a pan tool would take the finger that scrolls the page.
        fig = self._figure("derivative-figure", "L(w) = w² with its tangent and secant",
                           theme.CURVE_FIGURE_WIDTH, theme.CURVE_FIGURE_HEIGHT,
                           (lo, hi), (-1.2, 9.5), tools=("save",))
        curve = self._draw_curve(fig, self.curve, SLOPE_CURVE_W, "derivative-curve")
        self.curve_source = curve.data_source
        self.tangent_source = self._source({"w": [], "loss": []}, "tangent-line")
        self.secant_source = self._source({"w": [], "loss": []}, "secant-line")
        self.point_source = self._source({"w": [], "loss": []}, "derivative-point")
        self.secant_points_source = self._source({"w": [], "loss": []}, "secant-points")
        self.step_arrow_source = self._source(
            {"x0": [], "y0": [], "x1": [], "y1": []}, "derivative-step-arrow"
        )
        secant = self._draw(fig, self.secant_source, Line(
            x="w", y="loss", line_color=theme.SECANT_COLOR, line_width=2,
            line_dash="dashed"))
        self._draw(fig, self.secant_points_source, Scatter(
            x="w", y="loss", size=7, fill_color=theme.SECANT_COLOR,
            line_color=theme.SECANT_COLOR))
        tangent = self._draw(fig, self.tangent_source, Line(
            x="w", y="loss", line_color=theme.TANGENT_COLOR, line_width=3))
        self._draw(fig, self.point_source, Scatter(
            x="w", y="loss", size=12, fill_color=theme.POINT_COLOR, line_color="white",
            line_width=1.5))
        fig.add_layout(Arrow(
            end=NormalHead(size=14, fill_color=theme.TANGENT_COLOR,
                           line_color=theme.TANGENT_COLOR),
            x_start="x0", y_start="y0", x_end="x1", y_end="y1", source=self.step_arrow_source,
            line_color=theme.TANGENT_COLOR, line_width=3, name="derivative-step-arrow-annotation",
        ))
        self.direction_label = Label(
            x=12, y=10, x_units="screen", y_units="screen", text="", text_font_size="15px",
            text_color=theme.TEXT_COLOR,
            text_font_style="bold", background_fill_color="white", background_fill_alpha=0.8,
            name="direction-label",
        )
        fig.add_layout(self.direction_label)
        theme.add_legend(fig, [("L(w) = w²", [curve]), ("secant (central, h)", [secant]),
                               ("tangent, slope 2w", [tangent])], "top_center")
        self.slope_figure = fig

    def _build_error_figure(self):
        fig = self._figure("error-figure", "|error| of the numerical slope vs h",
                           theme.SMALL_FIGURE_WIDTH, theme.CURVE_FIGURE_HEIGHT,
                           (1e-12, 1.0), (1e-17, 10.0), "h", "|numerical − 2w|",
                           x_axis_type="log", y_axis_type="log")
        forward = self._draw(fig, self.error_forward_source, Line(
            x="h", y="error", line_color=theme.FORWARD_COLOR, line_width=2))
        central = self._draw(fig, self.error_central_source, Line(
            x="h", y="error", line_color=theme.CENTRAL_COLOR, line_width=2))
        self._draw(fig, self.error_current_source, Scatter(
            x="h", y="error", size=11, fill_color="color", line_color="white",
            line_width=1.5))
        theme.add_legend(fig, [("forward", [forward]), ("central", [central])], "top_left")
        self.error_figure = fig

    def _build_secant_figure(self):
        fig = self._figure("secant-figure", "Secants at w = 1 (zoomed in)",
                           theme.SMALL_FIGURE_WIDTH, theme.SMALL_FIGURE_HEIGHT,
                           (0.96, 1.13), (0.9, 1.3), tools=("save",))
        self._draw_curve(fig, self.curve, SECANT_CURVE_W)
        loss_at = float(self.curve.loss(SECANT_AT))
        secants = self._draw(fig, self.secants_source, MultiLine(
            xs="xs", ys="ys", line_color="color", line_width=2))
        tangent_w, tangent_l = line_through(
            SECANT_AT, loss_at, float(self.curve.grad(SECANT_AT)), 0.25
        )
        tangent = self._draw(fig, self._source({"w": tangent_w, "loss": tangent_l}), Line(
            x="w", y="loss", line_color=theme.TANGENT_COLOR, line_width=3,
            line_dash="dotted"))
        # Two glyphs, not one with a size column: presentation mode scales numeric sizes.
        hs = np.array(SECANT_STEPS)
        self._draw(fig, self._source({
            "w": SECANT_AT + hs, "loss": self.curve.loss(SECANT_AT + hs),
            "color": list(theme.SECANT_STEP_COLORS),
        }), Scatter(x="w", y="loss", size=7, fill_color="color", line_color="color"))
        self._draw(fig, self._source({"w": [SECANT_AT], "loss": [loss_at]}), Scatter(
            x="w", y="loss", size=10, fill_color=theme.POINT_COLOR,
            line_color=theme.POINT_COLOR))
        theme.add_legend(fig, [LegendItem(label=field("label"), renderers=[secants]),
                               ("tangent: slope 2", [tangent])], "top_left")
        self.secant_figure = fig

    def _draw_iterates(self, fig, source):
        """The 1-D iterates w₀, w₁, … on the curve: a thin line through dots (the descent
        path, and the quiz's revealed steps). Returns the two renderers."""
        return [
            self._draw(fig, source, Line(
                x="w", y="loss", line_color=theme.DESCENT_1D_COLOR, line_width=1.5,
                line_alpha=0.7)),
            self._draw(fig, source, Scatter(
                x="w", y="loss", size=9, fill_color=theme.DESCENT_1D_COLOR,
                line_color="white", line_width=1)),
        ]

    def _build_descent_figure(self):
        lo, hi = self.descent_curve.bounds
        fig = self._figure("descent1d-figure", "Gradient descent on L(w) = (w − 3)²",
                           theme.CURVE_FIGURE_WIDTH, theme.SMALL_FIGURE_HEIGHT + 20,
                           (lo, hi), DESCENT_Y_RANGE)
        self._draw_curve(fig, self.descent_curve, DESCENT_CURVE_W)
        self.descent_path_renderers = self._draw_iterates(fig, self.descent_source)
        self._draw(fig, self._source({"w": [3.0], "loss": [0.0]}), Scatter(
            x="w", y="loss", marker="x", size=14, line_color=theme.TEXT_COLOR,
            fill_color=theme.TEXT_COLOR, line_width=2))
        self.descent_figure = fig

