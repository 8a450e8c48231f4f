"""Lesson 2 — Gradient descent on a 2-D landscape: tap a start, step, play, race optimizers.

The landscape's loss and gradient come from `landscapes`, every path from `optimizers.descend`.
Each change (start, η, optimizer, hyperparameters, racers, steps) computes the whole path for
the step budget at once; `shown` says how many of its steps are on screen. "Step downhill"
and "Reset" set `shown` (a hidden widget) from the browser and the server draws the steps;
"Play" reveals the precomputed steps in the browser itself (see app/descent_js.py), so a playing
animation costs the server nothing until it stops and reports where.

This file owns the lesson's state (parameters, runs), its callbacks and its lecture
interface (app/lesson_api.py); its figures are app/descent_figures.py, its widgets and layout
app/descent_view.py, its browser-side JavaScript app/descent_js.py.
"""

import html
import math

import numpy as np
import panel as pn
import param

import landscapes
import optimizers
from app import theme
from app.descent_figures import (  # noqa: F401  (lesson 2's names, for tests and lessons)
    MAX_RACERS,
    arrow_tips,
    landscape_picture,
    loss_axis_range,
    loss_for_log_axis,
    snapped_loss_range,
)
from app.descent_js import FMT_JS  # noqa: F401  (the browser's fmt; tests compare it with fmt)
from app.descent_stability import StabilityPanel
from app.descent_view import (  # noqa: F401  (lesson 2's names, for tests and lessons)
    LR_MAX,
    LR_MIN,
    DescentView,
    fmt,
    optimizer_title,
    status_entry,
)
from app.lesson_api import changed_settings, csv_number

ARROW_FRACTION = 0.14  # the −∇L arrow is this fraction of the display width long


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


class GradientDescent(DescentView, pn.viewable.Viewer):
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
        # issue 15: basin map, critical η, η sweep (app/descent_stability.py); built after the
        # lesson's own watchers, so a new landscape has reset η before the map asks for it
        self.stability = StabilityPanel(self)
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

    def command(self, action):
        """A keyboard command: step/forward, back or reset the steps shown."""
        if action in ("step", "forward"):
            self.step()
        elif action == "back":
            self.shown = max(self.shown - 1, 0)
        elif action == "reset":
            self.reset()

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
