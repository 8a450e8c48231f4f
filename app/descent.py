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

Your own function: a typed f(x, y) becomes the landscape "custom" through
circuits.to_landscape (exact gradients from the circuit's backward pass) over a typed domain.
`use_function(text, domain)` checks it first (parser, domain, finite over the whole grid) and
changes nothing but the message when it fails; the picture of a typed function is cached per
(text, domain) in a small per-process LRU (app/descent_figures.function_picture).
"""

import html
import math

import numpy as np
import panel as pn
import param

import circuits
import landscapes
import optimizers
from app import theme
from app.backprop import INPUT_LIMIT  # lesson 3's inputs: "Open in lesson 3" keeps to them
from app.descent_figures import (  # noqa: F401  (lesson 2's names, for tests and lessons)
    MAX_RACERS,
    FunctionError,
    arrow_tips,
    function_picture,
    landscape_picture,
    loss_axis_range,
    loss_for_log_axis,
    snapped_loss_range,
)
from app.descent_inside import InsidePanel
from app.descent_js import FMT_JS  # noqa: F401  (the browser's fmt; tests compare it with fmt)
from app.descent_stability import StabilityPanel
from app.descent_view import (  # noqa: F401  (lesson 2's names, for tests and lessons)
    DOMAIN_LABELS,
    FUNCTION_LABEL,
    LR_MAX,
    LR_MIN,
    YOUR_FUNCTION,
    DescentView,
    fmt,
    optimizer_title,
    status_entry,
)
from app.lesson_api import changed_settings, csv_number

ARROW_FRACTION = 0.14  # the −∇L arrow is this fraction of the display width long
CUSTOM = circuits.CircuitLandscape.id  # "custom": the landscape id of a typed function
DEFAULT_DOMAIN = (-5.0, 5.0, -5.0, 5.0)  # xmin, xmax, ymin, ymax of a typed function
DOMAIN_LIMIT = 1000.0  # |coordinate| of a domain, as lesson 3's inputs
MIN_DOMAIN_WIDTH = 1e-3
DIVERGED = "it ran off to infinity"
DIVERGED_CUSTOM = "its loss became infinite or undefined (NaN), or it ran off to infinity"


def domain_bounds(domain):
    """(xmin, xmax, ymin, ymax) -> ((xmin, xmax), (ymin, ymax)), as landscapes' bounds."""
    xmin, xmax, ymin, ymax = (float(v) for v in domain)
    return ((xmin, xmax), (ymin, ymax))


def check_domain(domain):
    """The domain as four floats, or a message saying which number is wrong and why."""
    try:
        values = tuple(domain)
    except TypeError:
        return None, "The domain is four numbers: x from, x to, y from, y to."
    if len(values) != 4:
        return None, "The domain is four numbers: x from, x to, y from, y to."
    checked = []
    for label, value in zip(DOMAIN_LABELS, values, strict=True):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None, f"Domain: type a number for “{label}”."
        if not math.isfinite(value):
            return None, f"Domain: “{label}” must be a finite number."
        if abs(value) > DOMAIN_LIMIT:
            return None, (f"Domain: “{label}” must lie between {-DOMAIN_LIMIT:g} and "
                          f"{DOMAIN_LIMIT:g}.")
        checked.append(value)
    for axis, (low, high) in zip("xy", (checked[:2], checked[2:]), strict=True):
        if high - low < MIN_DOMAIN_WIDTH:
            return None, (f"Domain: “{axis} to” must be larger than “{axis} from” (by at least "
                          f"{MIN_DOMAIN_WIDTH:g}).")
    return tuple(checked), ""


def check_function(text, domain=DEFAULT_DOMAIN):
    """(text, domain) ready to draw, or a message: what is wrong and where (the parser's
    column, or the point of the domain where f is not finite). Fast for anything refused:
    the longest text is refused before parsing, a parse error before any evaluation."""
    if not isinstance(text, str) or not text.strip():
        return None, "Type a function of x and y, e.g. x**2 + 3*y**2, then press Enter."
    if len(text) > circuits.MAX_LENGTH:
        return None, (f"f(x, y) may have at most {circuits.MAX_LENGTH} characters "
                      f"(this one has {len(text)}).")
    domain, problem = check_domain(domain)
    if problem:
        return None, problem
    try:
        function_picture(text, domain_bounds(domain))
    except (circuits.ExpressionError, FunctionError) as error:
        return None, f"f(x, y): {error}"
    return (text, domain), ""


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

    landscape = param.Selector(default="bowl", objects=[*landscapes.names(), CUSTOM],
                               doc="Landscape id ('custom': your function)")
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
    function = param.String(default="", doc="Your function f(x, y) when landscape is 'custom'")
    domain = param.NumericTuple(default=DEFAULT_DOMAIN, length=4,
                                doc="Your function's domain: xmin, xmax, ymin, ymax")
    inspect = param.Boolean(default=False, doc=(
        "Inside the optimizer: the state inspector, the step and velocity arrows and the "
        "narrated step (nothing of it is computed while off)"))
    quiz = param.Boolean(default=False, doc="Predict, then reveal: a tap on the map is a guess")
    new_part = param.List(default=[], doc=(
        "The Panel objects of a part about to be shown (the inspector's and quiz's panes, "
        "built when a box is first ticked): the lecture gives them presentation mode"))
    handoff = param.Parameter(default=None, doc=(
        "(lesson key, settings): show these in another lesson; the lecture layer answers it "
        "(\"Open in lesson 3\")"))

    def __init__(self, **params):
        if params.get("function") and "landscape" not in params:
            params["landscape"] = CUSTOM
        if params.get("landscape", self.param.landscape.default) != CUSTOM:
            params["function"] = ""
        self._custom = None  # (function, domain) and its landscape object (see surface)
        chosen = self._surface_for(params.get("landscape", self.param.landscape.default),
                                   params.get("function", ""),
                                   params.get("domain", DEFAULT_DOMAIN))
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
        # issue 16: inspector, arrows, narration, quiz (app/descent_inside.py); lazy
        self.inside = InsidePanel(self)
        self._draw_landscape()
        self._recompute()
        self.param.watch(self._on_landscape, ["landscape", "function", "domain"])
        self.param.watch(self._on_optimizer, "optimizer")
        self.param.watch(
            self._on_path_change,
            ["learning_rate", "hyperparameters", "racers", "start", "steps"],
        )
        self.param.watch(self._on_shown, "shown")
        self.history.on_change("value", self._on_scrub)
        if self.inside.active:  # from a link or a notebook: build what the boxes show
            self.inside._on_toggle()
        # issue 15: basin map, critical η, η sweep (app/descent_stability.py); built after the
        # lesson's own watchers, so a new landscape has reset η before the map asks for it
        self.stability = StabilityPanel(self)
        self._layout = self._build_layout()

    # ------------------------------------------------------------------- public actions

    @property
    def surface(self):
        """The chosen landscape object: from `landscapes`, or your typed function's
        (circuits.to_landscape over `domain`) when `landscape` is "custom"."""
        return self._surface_for(self.landscape, self.function, self.domain)

    def _surface_for(self, name, function, domain):
        if name != CUSTOM:
            return landscapes.get(name)
        key = (function, tuple(float(v) for v in domain))
        if self._custom is None or self._custom[0] != key:
            # This session's own object: a circuit keeps the numbers of its last pass.
            self._custom = (key, circuits.to_landscape(function, bounds=domain_bounds(domain)))
        return self._custom[1]

    def picture(self):
        """The heatmap and contours of the chosen landscape (shared, read-only)."""
        if self.landscape == CUSTOM:
            return function_picture(self.function, domain_bounds(self.domain))
        return landscape_picture(self.landscape)

    def use_function(self, text, domain=None):
        """Show your function f(x, y) = `text` over `domain` (xmin, xmax, ymin, ymax; the
        current one when None). Returns "" when it is drawn, else the message (also shown
        next to the box) and nothing else changes."""
        checked, problem = check_function(text, self.domain if domain is None else domain)
        self.function_message.object = (
            f"<div class='downhill-message'>{html.escape(problem)}</div>" if problem else "")
        if problem:
            return problem
        text, domain = checked
        if (self.landscape, self.function, tuple(self.domain)) == (CUSTOM, text, domain):
            return ""
        self.param.update(function=text, domain=domain, landscape=CUSTOM)
        return ""

    def draw_function(self):
        """"Draw f" and Enter: show the function and domain typed into the boxes."""
        return self.use_function(self.function_input.value_input or self.function_input.value,
                                 self.typed_domain())

    def choose_landscape(self, name):
        """The Landscape picker: a registered landscape, or "custom" for the typed function."""
        if name == CUSTOM:
            return self.draw_function()
        self.landscape = name
        return ""

    def open_in_backprop(self):
        """"Open in lesson 3": ask the lecture layer to show this function as lesson 3's
        circuit, with the inputs x, y at the current point."""
        text = self.function
        if not text:
            checked, problem = check_function(
                self.function_input.value_input or self.function_input.value,
                self.typed_domain())
            if problem:
                self.function_message.object = (
                    f"<div class='downhill-message'>{html.escape(problem)}</div>")
                return problem
            text = checked[0]
        self.function_message.object = ""
        point = self.start
        if self.runs and self.landscape == CUSTOM:
            current = self.runs[0].points[min(int(self.shown), len(self.runs[0].points) - 1)]
            if np.isfinite(current).all():
                point = current
        inputs = {name: float(np.clip(value, -INPUT_LIMIT, INPUT_LIMIT))
                  for name, value in zip("xy", point, strict=True)}
        used = circuits.parse(text).variables
        self.handoff = ("backprop", {"expression": text,
                                     "inputs": {k: v for k, v in inputs.items() if k in used}})
        if self.handoff is not None:  # no page took it (a notebook, or lesson 3 hidden)
            self.handoff = None
            problem = ("Lesson 3 is not on this page; in a notebook: "
                       f"Backpropagation.from_settings({{'expression': {text!r}}}).")
            self.function_message.object = (
                f"<div class='downhill-message'>{html.escape(problem)}</div>")
            return problem
        return ""

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
            # issue 16: a quiz guess, or a dot of the path (the history jumps there)
            if not self.inside.on_tap(float(event.x), float(event.y)):
                self.place_start(event.x, event.y)

    def _on_scrub(self, _attr, _old, new):
        # The history slider: the same `shown` as Step and Reset, within the computed budget
        # (never more: scrubbing only shows what is computed, it never calls descend).
        if self._updating:
            return
        try:
            k = int(new)
        except (TypeError, ValueError, OverflowError):  # a scripted client's value
            k = int(self.shown)
        k = max(0, min(k, int(self.steps)))
        if k != self.shown:
            self.shown = k
        elif self.history.value != k:
            self._set_quietly(self.history, value=k)

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

    def _on_landscape(self, *events):
        if self._updating:
            return
        if self.landscape == CUSTOM:  # set in code (a notebook, another panel): checked too
            _checked, problem = check_function(self.function, self.domain)
            if problem:
                self._updating = True
                try:
                    self.param.update(**{event.name: event.old for event in events})
                    self._show_surface_choice()
                finally:
                    self._updating = False
                self.function_message.object = (
                    f"<div class='downhill-message'>{html.escape(problem)}</div>")
                return
        self._updating = True
        try:
            if self.landscape != CUSTOM and self.function:
                self.function = ""  # "" whenever a registered landscape is shown
            chosen = self.surface
            self.param.update(start=chosen.start, learning_rate=chosen.lr, shown=0)
            self._show_surface_choice()
        finally:
            self._updating = False
        self.message.object = ""
        self.function_message.object = ""
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
        self.inside.on_shown()
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
        self.inside.invalidate()
        chosen = self.surface
        start = np.array(self.start, dtype=float)
        self.build_racers(len(self.racer_names()))  # a race's first racers: their models
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
                "reason": self.diverged_reason(),
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
            if self.history.end != int(self.steps):
                self._set_quietly(self.history, end=int(self.steps),
                                  value=min(int(self.shown), int(self.steps)))
            self._reveal()
            self.loss_figure.x_range.update(start=0, end=int(self.steps))
            self.loss_figure.y_range.update(start=low, end=high)
            self._label_racers()
            self.trajectory_source.tags = tags
            self.trajectory_source.data = data

    def diverged_reason(self):
        return DIVERGED_CUSTOM if self.landscape == CUSTOM else DIVERGED

    def racer_label(self, slot):
        name = self.racer_names()[slot]
        return f"{optimizer_title(name)}, η = {fmt(float(self.learning_rate))}"

    def _label_racers(self):
        racers = tuple(self.racer_names()[: len(self.runs)])
        if racers == self._labelled:  # a new start or η: same names, nothing to resend
            return
        self._labelled = racers
        for slot in range(len(self.path_renderers)):  # the racers built so far
            active = slot < len(self.runs)
            # The optimizer's name only: η is in the status line beside it. A legend entry
            # that changes size with every η makes BokehJS lay out the whole page again.
            label = optimizer_title(self.racer_names()[slot]) if active else f"racer {slot + 1}"
            for renderer in (self.path_renderers[slot], self.loss_renderers[slot]):
                renderer.visible = active
                self.legend_items[renderer].visible = active
                self.legend_items[renderer].label = {"value": label}
            self.dot_renderers[slot].visible = active

    def _reveal(self):
        """Put the first `shown` steps of every path on screen, with the arrow and status."""
        k = int(self.shown)
        data = self._trajectory
        lines = []
        with pn.io.hold():
            for slot in range(len(self.path_sources)):  # the racers built so far
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
                        int(run.diverged_at), self.diverged_reason(),
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
            if self.history.value != k:
                self._set_quietly(self.history, value=k)
            if self.loss_step_mark.location != k:
                self.loss_step_mark.location = k
            if self.inside.active:
                self.inside.refresh()

    def _set_quietly(self, model, **values):
        updating, self._updating = self._updating, True
        try:
            model.update(**values)
        finally:
            self._updating = updating

    # ---------------------------------------------------------------- lecture interface
    # (app/lesson_api.py)

    key = "descent"
    link_params = ("landscape", "optimizer", "learning_rate", "hyperparameters", "racers",
                   "start", "steps", "shown", "speed", "function", "domain", "inspect", "quiz")
    csv_filename = "downhill-gradient-descent.csv"

    @classmethod
    def from_settings(cls, settings):
        settings = dict(settings)
        if settings.get("landscape") == CUSTOM:
            checked, _problem = check_function(settings.get("function", ""),
                                               settings.get("domain", DEFAULT_DOMAIN))
            if checked is None:  # links are checked by url_state; anything else: the default
                for name in ("landscape", "function", "domain", "start"):
                    settings.pop(name, None)
        else:
            settings.pop("function", None)
            settings.pop("domain", None)
        lesson = cls(**{name: value for name, value in settings.items() if name != "racers"})
        if settings.get("racers"):
            lesson.race_choice.value = list(settings["racers"])
        return lesson

    def settings(self):
        surface = self.surface
        defaults = {"landscape": "bowl", "optimizer": "sgd", "learning_rate": surface.lr,
                    "hyperparameters": {}, "racers": [], "start": tuple(surface.start),
                    "steps": 100, "shown": 0, "speed": 10, "function": "",
                    "domain": DEFAULT_DOMAIN, "inspect": False, "quiz": False}
        settings = changed_settings(self, self.link_params, defaults)
        if "domain" in settings:
            settings["domain"] = tuple(float(v) for v in self.domain)
            if self.landscape != CUSTOM:  # the boxes keep it; the view does not use it
                del settings["domain"]
        return settings

    def apply_settings(self, settings):
        landscape = settings.get("landscape", self.param.landscape.default)
        optimizer = settings.get("optimizer", self.param.optimizer.default)
        domain = tuple(settings.get("domain", DEFAULT_DOMAIN))
        if landscape == CUSTOM:  # resets start, η and the steps shown when it is new
            if self.use_function(settings.get("function", ""), domain):
                landscape = self.param.landscape.default
        if landscape != CUSTOM:
            if self.landscape != landscape:
                self.landscape = landscape  # resets start, η and the steps shown
            self._updating = True
            try:
                self.domain = DEFAULT_DOMAIN
            finally:
                self._updating = False
            self._show_surface_choice()
        if self.optimizer != optimizer:
            self.optimizer = optimizer  # resets the hyperparameters
        hyper = dict(settings.get("hyperparameters", {}))
        if hyper != self.hyperparameters:
            self.hyperparameters = hyper
            self._build_hyper_widgets()  # the widgets show the new values
        self.race_choice.value = list(settings.get("racers", []))
        surface = self.surface
        self.param.update(
            learning_rate=settings.get("learning_rate", surface.lr),
            start=tuple(settings.get("start", surface.start)),
            steps=settings.get("steps", self.param.steps.default),
            speed=settings.get("speed", self.param.speed.default),
            inspect=bool(settings.get("inspect", False)),
            quiz=bool(settings.get("quiz", False)),
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
        text = (f"Gradient descent, {name}: step {k}, point (x, y) = ({fmt(x)}, {fmt(y)}), "
                f"loss {fmt(float(run.losses[k]))}.")
        if self.inside.sentence:  # issue 16's narrated step, while the inspector or quiz is on
            text += " " + self.inside.sentence
        return text

    def __panel__(self):
        return self._layout
