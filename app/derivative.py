"""Lesson 1 — Derivative: slope, tangent, numerical gradient, and 1-D gradient descent.

Every number on screen comes from the core: the curves' loss and exact derivative
(`landscapes.curve`) and the descent driver (`optimizers.descend`). The two finite-difference
quotients are the lesson's formulas applied to the core's loss.

This file owns the lesson's state, widgets, readouts, layout, callbacks and lecture interface
(app/lesson_api.py); its figures and the difference quotients are app/derivative_figures.py.
"""

import functools
import html
import math

import numpy as np
import panel as pn
import param

import landscapes
import optimizers
from app import reveal, theme
from app.controls import answer_drags_at_once, log_slider
from app.derivative_figures import (
    ERROR_H,
    STEP_ARROW_LENGTH,
    TANGENT_HALF_WIDTH,
    DerivativeFigures,
    central_difference,
    fmt,
    forward_difference,
    line_through,
    positive_or_nan,
)
from app.derivative_quiz import DescentQuiz
from app.descent import fmt as status_number
from app.lesson_api import csv_number
from app.reveal import Reveal
from app.upstream_patches import text_only_html

INTRO = (
    "<p>The <strong>derivative</strong> is the slope of the loss: how fast L changes when the "
    "weight w moves a little. Drag <strong>w</strong> and watch the orange tangent: where the "
    "slope is positive, a step to the left goes downhill; where it is negative, step right; at "
    "the bottom it is zero. A computer can also <em>estimate</em> the slope from two loss "
    "values a distance h apart — the <strong>numerical gradient</strong>, which is how "
    "analytic gradients are checked.</p>"
)
"""HTML, not Markdown: a plain HTML pane costs the server less per page (no Markdown
rendering, no markdown.css stylesheet model)."""
FORMULA = (
    r"$L(w) = w^2 \qquad \frac{dL}{dw} = 2w \qquad "
    r"\frac{dL}{dw} \approx \frac{L(w+h) - L(w-h)}{2h}$"
)
ERROR_TEXT = (
    "**Error vs h** (log–log). The forward difference (L(w+h) − L(w))/h is off by about h "
    "(*truncation error*: the line still cuts the curve). Shrink h and the error falls — until "
    "L(w+h) and L(w) agree in almost every digit and their difference is mostly *round-off*: "
    "below h ≈ 1e-8 the error rises again. The central difference cancels the h term, so on "
    "this parabola it is exact up to round-off, which grows as h shrinks."
)
SECANT_TEXT = (
    "**Secant → tangent.** The derivative is the limit of secant slopes. At w = 1 the secant "
    "through (1, L(1)) and (1+h, L(1+h)) has slope (L(1+h) − L(1))/h:"
)
DESCENT_TEXT = (
    "**Gradient descent in 1-D** on L(w) = (w − 3)²: repeat w ← w − η·L'(w). With η = 0.1 "
    "each step is w ← 0.8w + 0.6 and creeps to 3; with η = 2 it is w ← −3w + 12: the iterate "
    "flips sides and runs away."
)
DESCENT_FORMULA = r"$w_{k+1} = w_k - \eta\, L'(w_k) \qquad L'(w) = 2(w-3)$"

def direction_sentence(slope):
    if slope > 0:
        return "slope > 0 → step left"
    if slope < 0:
        return "slope < 0 → step right"
    return "slope 0 → at the bottom"


class Derivative(DerivativeFigures, pn.viewable.Viewer):
    """Lesson 1: the slope of L(w) = w², its numerical estimate, and 1-D gradient descent."""

    w = param.Number(default=1.0, bounds=(-3.0, 3.0), doc="The weight w")
    h = param.Number(default=0.3, bounds=(1e-12, 1.0), doc="Finite-difference step h")
    descent_lr = param.Number(
        default=0.1, bounds=(0.01, 2.5), doc="Learning rate η of the 1-D descent"
    )
    descent_start = param.Number(default=0.0, bounds=(-2.0, 8.0), doc="Start w₀ of the descent")
    descent_steps = param.Integer(default=10, bounds=(1, 30), doc="Number of descent steps")
    quiz = param.Boolean(default=False, doc=(
        "Predict, then reveal (issue 16): a tap on the 1-D descent guesses the next w "
        "(app/derivative_quiz.py)"))

    revealed = param.Integer(default=0, doc=(
        "How many of the parts below the first screen are built (they are built when the "
        "student scrolls to them, see app/reveal.py)"))
    new_part = param.List(default=[], doc=(
        "The Panel objects of the part about to be shown, set just before they go on the "
        "page: the lecture gives them presentation mode first (restyling them once shown "
        "would cost the server a second round of models)"))

    def __init__(self, defer=None, **params):
        """`defer`: build the figures beside and below the first screen (the error plot, the
        secants, the 1-D descent) only when the student scrolls to them (app/reveal.py); by
        default on a server, never in a notebook or a test."""
        self.curve = landscapes.curve("square")
        self.descent_curve = landscapes.curve("shifted")
        super().__init__(**params)
        self._shared = theme.SharedModels()  # this page's shared figure parts
        self._build_sources()
        self._build_slope_figure()
        self.error_figure = self.secant_figure = self.descent_figure = None
        self._build_controls()
        self._update_slope()
        self._update_descent()
        self.param.watch(self._on_slope_change, ["w", "h"])
        self.param.watch(
            self._on_descent_change, ["descent_lr", "descent_start", "descent_steps"]
        )
        self._layout = self._build_layout(reveal.on_server() if defer is None else defer)

    # ------------------------------------------------------------------------ controls

    def _build_controls(self):
        """The first screen's controls; those of the part below are made when first used
        (the properties below: on a server, when that part is built)."""
        self.w_slider = answer_drags_at_once(pn.widgets.FloatSlider.from_param(
            self.param.w, label="w", step=0.01, sizing_mode="stretch_width"
        ))
        self.h_slider = log_slider(self, "h", "h", 1e-12, 1.0, step=0.1,
                                   sizing_mode="stretch_width")
        # Text-only updates (app/upstream_patches.py): it changes on every w or h drag.
        self.slope_readout = text_only_html()(
            sizing_mode="stretch_width", margin=(0, 10), stylesheets=[READOUT_CSS]
        )

    @functools.cached_property
    def quiz_panel(self):
        """The 1-D quiz (app/derivative_quiz.py), made with the part below (its toggle is
        there); a quiz switched on before (a link) starts then."""
        return DescentQuiz(self)

    @functools.cached_property
    def descent_lr_slider(self):
        return pn.widgets.FloatSlider.from_param(
            self.param.descent_lr, label="1-D learning rate η", step=0.01,
            sizing_mode="stretch_width",
        )

    @functools.cached_property
    def descent_start_slider(self):
        return pn.widgets.FloatSlider.from_param(
            self.param.descent_start, label="Start w₀", step=0.1, sizing_mode="stretch_width"
        )

    @functools.cached_property
    def descent_steps_slider(self):
        return pn.widgets.IntSlider.from_param(
            self.param.descent_steps, label="Iterations", sizing_mode="stretch_width"
        )

    @functools.cached_property
    def descent_readout(self):
        """The 1-D descent's verdict and iterates table (kept current once made)."""
        return pn.pane.HTML(self._descent_readout_html, width=230 - 2 * 10, margin=(0, 10),
                            stylesheets=[READOUT_CSS])

    @functools.cached_property
    def secant_table(self):
        return pn.pane.HTML(self._secant_table_html(), margin=(0, 10),
                            stylesheets=[READOUT_CSS])

    def _secant_table_html(self):
        rows = "".join(
            f"<tr><td>{h:g}</td><td><b>{fmt(slope, 6)}</b></td></tr>"
            for h, slope in self.secant_slopes.items()
        )
        return (
            "<table class='downhill-table'><tr><th>h</th><th>secant slope</th></tr>"
            f"{rows}<tr><td>→ 0</td><td><b>2</b> = L′(1)</td></tr></table>"
        )

    # ------------------------------------------------------------------------ updates

    def _on_slope_change(self, *_events):
        self._update_slope()

    def _on_descent_change(self, *events):
        with pn.io.hold():
            self._update_descent()
            if {"descent_lr", "descent_start"} & {event.name for event in events}:
                if "quiz_panel" in self.__dict__:  # made (see the property)
                    self.quiz_panel.lesson_changed()  # returns at once while the quiz is off

    def _update_slope(self):
        loss = self.curve.loss
        w, h = float(self.w), float(self.h)
        value = float(loss(w))
        slope = float(self.curve.grad(w))
        numerical = float(central_difference(loss, w, h))
        error = abs(numerical - slope)
        tangent_w, tangent_l = line_through(w, value, slope, TANGENT_HALF_WIDTH)
        # The secant passes through its own two points, whose midpoint lies above the curve.
        secant_mid = float((loss(w + h) + loss(w - h)) / 2)
        secant_w, secant_l = line_through(w, secant_mid, numerical, TANGENT_HALF_WIDTH)
        direction = -np.sign(slope) * STEP_ARROW_LENGTH
        errors_forward = positive_or_nan(forward_difference(loss, w, ERROR_H) - slope)
        errors_central = positive_or_nan(central_difference(loss, w, ERROR_H) - slope)
        forward_now = positive_or_nan([float(forward_difference(loss, w, h)) - slope])[0]
        central_now = positive_or_nan([error])[0]
        with pn.io.hold():
            self.point_source.data = {"w": [w], "loss": [value]}
            self.tangent_source.data = {"w": tangent_w, "loss": tangent_l}
            self.secant_source.data = {"w": secant_w, "loss": secant_l}
            self.secant_points_source.data = {"w": [w - h, w + h],
                                              "loss": [float(loss(w - h)), float(loss(w + h))]}
            self.step_arrow_source.data = (
                {"x0": [w], "y0": [-0.45], "x1": [w + direction], "y1": [-0.45]}
                if slope != 0 else {"x0": [], "y0": [], "x1": [], "y1": []}
            )
            self.direction_label.text = direction_sentence(slope)
            self._keep("error_forward_source", {"h": ERROR_H, "error": errors_forward})
            self._keep("error_central_source", {"h": ERROR_H, "error": errors_central})
            self._keep("error_current_source", {
                "h": [h, h], "error": [forward_now, central_now],
                "color": [theme.FORWARD_COLOR, theme.CENTRAL_COLOR],
            })
            self.slope_readout.object = self._slope_html(w, h, slope, numerical, error)

    def _slope_html(self, w, h, slope, numerical, error):
        return (
            "<div class='downhill-readout'>"
            f"<div>At w = <b>{w:.2f}</b>: slope L′(w) = 2w = "
            f"<b style='color:{theme.TANGENT_TEXT_COLOR}'>{fmt(slope, 6)}</b></div>"
            f"<div class='downhill-direction'>{html.escape(direction_sentence(slope))}</div>"
            f"<div>h = {fmt(h, 3)}: central difference = "
            f"<b style='color:{theme.SECANT_COLOR}'>{numerical:.15g}</b></div>"
            f"<div>error |numerical − 2w| = <b>{fmt(error, 3) if error else '0 (exact)'}</b>"
            "</div></div>"
        )

    def descent_run(self):
        """The 1-D descent from the core: plain gradient descent (SGD, full batch)."""
        opt = optimizers.get("sgd", lr=float(self.descent_lr))
        return optimizers.descend(
            self.descent_curve, opt, float(self.descent_start), steps=int(self.descent_steps)
        )

    def _update_descent(self):
        run = self.descent_run()
        ws = run.points[:, 0]
        losses = run.losses
        steps = np.arange(len(ws))
        with pn.io.hold():
            self._keep("descent_source", {"w": ws, "loss": losses, "step": steps})
            self._descent_readout_html = self._descent_html(ws, losses, run.diverged_at)
            if "descent_readout" in self.__dict__:  # made (see the property)
                self.descent_readout.object = self._descent_readout_html

    def _descent_html(self, ws, losses, diverged_at):
        cells = "".join(
            f"<tr><td>{k}</td><td>{fmt(w, 6)}</td><td>{fmt(loss, 4)}</td></tr>"
            for k, (w, loss) in enumerate(zip(ws, losses, strict=True))
            if np.isfinite(w)
        )
        if diverged_at >= 0:
            verdict = f"<b class='downhill-warning'>Diverged at step {diverged_at}.</b>"
        elif losses[-1] > losses[0]:
            verdict = (
                "<b class='downhill-warning'>Diverging: every step lands farther from the "
                "bottom (w = 3) — the learning rate is too large.</b>"
            )
        else:
            verdict = f"After {len(ws) - 1} steps w = <b>{fmt(ws[-1], 6)}</b> (the bottom is 3)."
        return (
            f"<div class='downhill-readout'>{verdict}</div>"
            "<div class='downhill-iterates'><table class='downhill-table'>"
            "<tr><th>k</th><th>w<sub>k</sub></th><th>L(w<sub>k</sub>)</th></tr>"
            f"{cells}</table></div>"
        )

    # ------------------------------------------------------------------------ layout

    def _build_layout(self, defer):
        """The first screen (the text, w and h, the readout and the curve with its tangent),
        then the error plot beside it and the 1-D descent and the secants below. With
        `defer`, a placeholder stands beside the curve until the student scrolls to it (on
        a laptop it is in view at once); then both parts are built, in one message."""
        card = dict(sizing_mode="stretch_width", margin=(4, 6))
        slope_controls = pn.Column(
            pn.pane.HTML(INTRO, sizing_mode="stretch_width", margin=(0, 10),
                         styles=theme.TEXT_STYLE),
            pn.pane.LaTeX(FORMULA, styles={"font-size": "1.15em"}, margin=(0, 10)),
            self.w_slider,
            self.h_slider,
            self.slope_readout,
            width=theme.CONTROLS_WIDTH + 60,
        )
        # The line under the first screen is the first row's border (a Divider would be three
        # more models per page, and one that a later part must not hold: see app/reveal.py).
        card = dict(card, stylesheets=[FIRST_ROW_CSS])
        if not defer:
            return theme.responsive(pn.Column(
                pn.Row(slope_controls, self.slope_figure, *self._error_part(), **card),
                *self._lower_part(),
                sizing_mode="stretch_width",
            ))
        first_row = pn.Row(slope_controls, self.slope_figure, **card)
        layout = pn.Column(first_row, sizing_mode="stretch_width")

        def build_the_rest():
            beside, below = self._error_part(), self._lower_part()
            for item in (*beside, *below):
                theme.responsive(item, part=True)
            self.new_part = [*beside, *below]
            with pn.io.hold():
                first_row.objects = [*first_row.objects[:-1], *beside]  # the placeholder's place
                layout.objects = [*layout.objects, *below]
                self.revealed += 1

        # One placeholder for both parts: the part below starts under the error plot on a
        # phone, and on a laptop both are in view at once (one message, not two).
        first_row.append(Reveal.when_seen(
            build_the_rest, "reveal-error-figure", label="Drawing the error of the numerical "
            "slope, gradient descent in 1-D and the secants…",
            width=theme.SMALL_FIGURE_WIDTH, height=theme.CURVE_FIGURE_HEIGHT, margin=(5, 10)))
        return theme.responsive(layout)

    def _error_part(self):
        """The log-log error plot with its text (beside the curve on a wide screen)."""
        self._build_error_figure()
        return [pn.Column(
            self.error_figure,
            pn.pane.Markdown(ERROR_TEXT, width=theme.SMALL_FIGURE_WIDTH, margin=(0, 10),
                             styles=theme.SMALL_TEXT_STYLE),
        )]

    def _lower_part(self):
        """Below the first screen: 1-D gradient descent with its iterates, and the secants."""
        self._build_secant_figure()
        self._build_descent_figure()
        if self.quiz:  # on from a link: its parts come with the figure
            self.quiz_panel.build()
            self.quiz_panel.show()
        card = dict(sizing_mode="stretch_width", margin=(4, 6))
        secant_column = pn.Column(
            pn.pane.Markdown(SECANT_TEXT, width=theme.SMALL_FIGURE_WIDTH, margin=(0, 10),
                             styles=theme.TEXT_STYLE),
            self.secant_table,
            self.secant_figure,
        )
        descent_controls = pn.Column(
            pn.pane.Markdown(DESCENT_TEXT, sizing_mode="stretch_width", margin=(0, 10),
                             styles=theme.TEXT_STYLE),
            pn.pane.LaTeX(DESCENT_FORMULA, styles={"font-size": "1.05em"}, margin=(0, 10)),
            self.descent_lr_slider,
            self.descent_start_slider,
            self.descent_steps_slider,
            self.quiz_panel.controls,
            width=theme.CONTROLS_WIDTH + 60,
        )
        return [pn.Row(descent_controls, self.descent_figure, self.descent_readout,
                        secant_column, **card)]

    # ---------------------------------------------------------------- lecture interface
    # (app/lesson_api.py)

    key = "derivative"
    link_params = ("w", "h", "descent_lr", "descent_start", "descent_steps", "quiz")
    csv_filename = "downhill-derivative-1d.csv"

    @classmethod
    def from_settings(cls, settings):
        return cls(**settings)

    def settings(self):
        return {name: getattr(self, name) for name in self.link_params
                if getattr(self, name) != self.param[name].default}

    def apply_settings(self, settings):
        self.param.update(**{name: settings.get(name, self.param[name].default)
                             for name in self.link_params})

    def stop_animations(self):
        """Lesson 1 animates nothing."""

    def command(self, action):
        """A keyboard command: step/forward and back move the 1-D descent's last step."""
        low, high = self.param.descent_steps.bounds
        if action in ("step", "forward"):
            self.descent_steps = min(self.descent_steps + 1, high)
        elif action == "back":
            self.descent_steps = max(self.descent_steps - 1, low)
        elif action == "reset":
            self.descent_steps = low

    def path_rows(self):
        """The 1-D descent's iterates (w in the x column, no y)."""
        run = self.descent_run()
        return [(step, csv_number(run.points[step, 0]), "", csv_number(run.losses[step]),
                 "sgd", csv_number(self.descent_lr)) for step in range(len(run.losses))]

    def status_text(self):
        run = self.descent_run()
        k = len(run.losses) - 1
        w = float(run.points[k, 0])
        loss = float(run.losses[k])
        if not (math.isfinite(w) and math.isfinite(loss)):
            return f"1-D descent: step {k}, diverged."
        return (f"1-D descent on (w − 3)²: step {k}, point w = {status_number(w)}, "
                f"loss {status_number(loss)}.")

    def __panel__(self):
        return self._layout


FIRST_ROW_CSS = ":host { border-bottom: 1px solid #c4c9cf; padding-bottom: 10px; }"
"""The line between the first screen and the part below it."""

READOUT_CSS = f"""
.downhill-readout {{ font-size: 15px; line-height: 1.55; color: {theme.TEXT_COLOR}; }}
.downhill-direction {{ font-size: 17px; font-weight: 600; color: {theme.TANGENT_TEXT_COLOR};
  margin: 2px 0 6px 0; }}
.downhill-warning {{ color: #b3261e; }}
.downhill-table {{ border-collapse: collapse; font-size: 14px;
  font-variant-numeric: tabular-nums; }}
.downhill-table th, .downhill-table td {{ padding: 2px 10px; text-align: right;
  border-bottom: 1px solid #d0d7de; }}
.downhill-iterates {{ max-height: 250px; overflow-y: auto; margin-top: 6px; }}
"""
