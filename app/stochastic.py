"""Lesson 4 — Stochastic & adaptive: mini-batches, schedules, clipping, the saddle race.

The runs come from `optimizers.descend` on `landscapes.get("line-fit")` (with batch_size= and
seed=) and on the plateau saddle; the learning rate per step from `optimizers.schedules`. Each
change of the settings computes the three whole runs once and sends them to the browser
(`trajectory_source`); `step` says how many of their steps are on screen. Step, Play and Reset
act in the browser (see app/stochastic_js.py): Play reveals the precomputed steps there, without the
server, and only its start and its stop reach the server (`playing`, then the step it stopped
at), so a hall of students pressing Play costs the server two messages each, not a loop.

This file owns the lesson's state, runs, widgets, layout, callbacks and lecture interface
(app/lesson_api.py); its figures are app/stochastic_figures.py, its browser-side JavaScript
app/stochastic_js.py.
"""

import html
import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import panel as pn
import param
from bokeh.models import (
    Div,
)

import landscapes
import optimizers
from app import theme
from app.controls import answer_drags_at_once
from app.descent import ARROW_FRACTION, fmt, loss_axis_range
from app.descent_figures import arrow_tips
from app.inspector import StateInspector, step_arrow_data
from app.lesson_api import changed_settings, csv_number
from app.narration import narrate
from app.stochastic_figures import (  # noqa: F401  (lesson 4's names, for tests and links)
    LINE_FIT,
    MAX_STEPS,
    PATH_TITLES,
    PATHS,
    RACER_TITLES,
    RACERS,
    SADDLE,
    SCHEDULES,
    STEP_DECAY_EVERY,
    STEP_DECAY_GAMMA,
    WARMUP_STEPS,
    StochasticFigures,
)
from app.stochastic_js import LABEL_JS, PLAY_JS, RESET_JS, RUNNING_JS, STEP_JS

INTRO = (
    "The full-batch gradient averages every example: exact, but each update costs a pass over "
    "all the data. **Stochastic** gradient descent (SGD) uses one random example per step: "
    "cheap and very noisy. A **mini-batch** averages a few examples and is the workhorse. "
    "Here the loss is the mean 1/(2n)Σ, not the sum ½Σ, so the learning rate η does not "
    "depend on the number of examples n. All three paths start at the same point, with the "
    "same seed for the random batches."
)
FORMULA = (
    r"$L(m, b) = \frac{1}{2n}\sum_{i=1}^{n} (m x_i + b - y_i)^2 \qquad "
    r"(m, b) \leftarrow (m, b) - \eta_t\, \nabla L_B, \quad "
    r"L_B = \frac{1}{2|B|}\sum_{i \in B} (m x_i + b - y_i)^2$"
)
SCHEDULE_TEXT = (
    "**Schedules** change η over the steps: step decay halves it every 40 steps, cosine "
    "annealing glides it to 0, warmup starts small and ramps up over 10 steps. A decaying η "
    "calms SGD's noise near the minimum. **Clipping** caps the gradient's norm ‖∇‖ before the "
    "step, so one bad batch cannot throw the run far away."
)
SADDLE_TEXT = (
    "### Saddle race\n"
    "On f(x, y) = x² + y⁶/6 − y⁴/4 the origin is a saddle with a flat plateau around it: the "
    "gradient along y is almost zero there (∂f/∂y = y⁵ − y³ ≈ −y³). Plain SGD and momentum "
    "crawl on the plateau (their loss stays flat near 0), while RMSprop and Adam divide by a "
    "running size of the gradient, so a tiny gradient still makes a step of about η, and they "
    "escape to a minimum at f = −1/12."
)

ARROWS_TEXT = (
    "On the loss map, at the followed path's point: the **white dashed** arrow points "
    "downhill on all the data (−∇L, drawn at a fixed length), the **yellow** one is the step "
    "Δ the optimizer actually made with its mini-batch gradient g. The table below is what "
    "the optimizer remembers at this step, each number with its rule; the saddle race below "
    "has one for the racer you pick."
)


def _schedule(name, lr):
    """The learning rate per step as a function, from optimizers.schedules."""
    schedules = optimizers.schedules
    if name == "Step decay":
        return schedules.step_decay(lr, STEP_DECAY_EVERY, STEP_DECAY_GAMMA)
    if name == "Cosine":
        return schedules.cosine(lr, MAX_STEPS)
    if name == "Warmup":
        return schedules.linear_warmup(lr, start_factor=0.1, total_iters=WARMUP_STEPS)
    if name == "Warmup + cosine":
        return schedules.warmup_cosine(lr, WARMUP_STEPS, MAX_STEPS - WARMUP_STEPS,
                                       start_factor=0.1)
    return schedules.constant(lr)


def _signed(value, digits):
    """A number with a fixed count of decimals and a real minus sign.

    Rounded as JavaScript's toFixed rounds (the exact binary value, a tie away from zero), so
    the status the Play animation writes in the browser (stochastic_js) is the server's, digit for
    digit; Python's own format would round a tie such as 0.125 to even.
    """
    exact = Decimal(value + 0.0)  # + 0.0: no "−0.000" for −0.0 (toFixed drops that sign)
    text = str(exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))
    return text.replace("-", "\u2212")


def _finite_points(run, upto):
    """The run's points 0 … upto, cut where it diverged (no NaN reaches a plot)."""
    end = upto + 1 if run.diverged_at < 0 else min(upto + 1, run.diverged_at)
    return run.points[:end]


STATUS_CSS = f"""
.minibatch-status {{ font-size: 1.1em; line-height: 1.6; color: {theme.TEXT_COLOR};
  font-variant-numeric: tabular-nums; }}
"""

class StochasticAdaptive(StochasticFigures, pn.viewable.Viewer):
    """Full batch vs mini-batch vs SGD on a line fit; schedules and clipping; a saddle race."""

    batch_size = param.Integer(default=8, bounds=(2, 25), doc="Examples per mini-batch")
    # allow_None: a cleared input box arrives as None; it gets a message, not an exception
    learning_rate = param.Number(default=0.2, bounds=(0.005, 1.0), allow_None=True,
                                 doc="η before scheduling")
    seed = param.Integer(default=0, bounds=(0, 9999), allow_None=True,
                         doc="Seed of the random mini-batches")
    step = param.Integer(default=0, bounds=(0, MAX_STEPS), doc="How far along the paths")
    playing = param.Boolean(default=False, doc="Play is animating the paths in the browser")
    follow = param.Selector(default="Mini-batch", objects=list(PATH_TITLES.values()),
                            doc="The path whose line is drawn over the data")
    schedule = param.Selector(default="Constant", objects=list(SCHEDULES))
    clip = param.Boolean(default=False, doc="Clip the gradient's norm")
    clip_norm = param.Number(default=1.0, bounds=(0.05, 10.0), allow_None=True,
                             doc="Largest gradient norm")
    start = param.Tuple(default=(-0.5, 3.5), length=2, doc="(m, b) where all three start")
    race_learning_rate = param.Number(default=0.05, bounds=(0.005, 0.3), allow_None=True)
    race_steps = param.Integer(default=150, bounds=(20, 400))
    inspect = param.Boolean(default=False, doc="Show inside the optimizer: its state, the "
                            "narrated step and the two arrows at the followed path's point")
    inspect_racer = param.Selector(default="Adam", objects=list(RACER_TITLES.values()),
                                   doc="The saddle racer the inspector opens up")
    race_step = param.Integer(default=0, bounds=(0, 400), doc="The racer's step inspected")

    def __init__(self, **params):
        self.landscape = landscapes.get(LINE_FIT)
        self.saddle = landscapes.get(SADDLE)
        params.setdefault("learning_rate", float(self.landscape.lr))
        params.setdefault("start", tuple(float(v) for v in self.landscape.start))
        super().__init__(**params)
        self.runs = {}
        self.race = {}
        self._made_with = {}  # optimizer, start, batch sizes and seed of the drawn runs
        self._traces = {}  # followed path -> optimizers.trace of its run (only when inspected)
        self._tips = {}    # path -> the −∇L arrow's tips per step (only when inspected)
        self._report = (None, None, None)  # (trace, step, its report): the last one asked for
        self._race_traces = {}  # saddle racer -> optimizers.trace of its run (when inspected)
        self._build_linefit()
        self._build_contour()
        self._build_loss()
        self._build_schedule()
        self._build_saddle()
        self._build_widgets()
        self._recompute()
        self._race()
        self._layout = self._build_layout()

    # ---------------------------------------------------------------- widgets

    def _build_widgets(self):
        self.batch_slider = pn.widgets.IntSlider.from_param(
            self.param.batch_size, label="Batch size", width=280)
        self.lr_slider = pn.widgets.EditableFloatSlider.from_param(
            self.param.learning_rate, label="Learning rate", step=0.005, width=280)
        self.seed_input = pn.widgets.IntInput.from_param(self.param.seed, label="Seed", width=120)
        self.follow_buttons = pn.widgets.RadioButtonGroup.from_param(
            self.param.follow, label="Line follows", width=280)
        self.step_button = pn.widgets.Button(label="Step", color="primary", width=80)
        self.play_button = pn.widgets.Button(label="Play", color="success", width=80)
        self.reset_button = pn.widgets.Button(label="Reset", color="default", width=80)
        self.schedule_select = pn.widgets.Select.from_param(
            self.param.schedule, label="Schedule", width=280)
        self.clip_box = pn.widgets.Checkbox.from_param(self.param.clip, label="Clip gradients")
        self.clip_slider = pn.widgets.EditableFloatSlider.from_param(
            self.param.clip_norm, label="Max gradient norm", step=0.05, width=280,
            disabled=not self.clip)
        self.race_lr_slider = pn.widgets.EditableFloatSlider.from_param(
            self.param.race_learning_rate, label="Race learning rate", step=0.005, width=280)
        self.race_steps_slider = pn.widgets.IntSlider.from_param(
            self.param.race_steps, label="Race steps", step=10, width=280)
        self.status = Div(text="", name="minibatch-status", stylesheets=[STATUS_CSS],
                          sizing_mode="stretch_width", margin=(0, 10))
        self.inspect_box = pn.widgets.Checkbox.from_param(
            self.param.inspect, label="Inside the optimizer")
        # Built hidden and empty: nothing is traced or sent until the box is ticked.
        self.narration = Div(text="", name="stochastic-narration", stylesheets=[STATUS_CSS],
                             sizing_mode="stretch_width", margin=(0, 10))
        self.inspector = StateInspector(None, self.landscape,
                                        model_name="stochastic-state-inspector")
        self.racer_buttons = pn.widgets.RadioButtonGroup.from_param(
            self.param.inspect_racer, label="Inspect racer", width=280)
        self.race_step_slider = pn.widgets.IntSlider.from_param(
            self.param.race_step, label="Race step", end=self.race_steps, width=280)
        self.race_narration = Div(text="", name="saddle-narration", stylesheets=[STATUS_CSS],
                                  sizing_mode="stretch_width", margin=(0, 10))
        self.race_inspector = StateInspector(None, self.saddle,
                                             model_name="saddle-state-inspector")
        self.race_status = pn.pane.Markdown("", sizing_mode="stretch_width", margin=(0, 10))
        self.message = pn.pane.Alert("", alert_type="danger", visible=False)
        # Hidden: the browser tells the server through these when Play starts and where it
        # stopped; one change per press, answered at once (no 50 ms debounce), in order.
        self.shown_input = pn.widgets.IntInput.from_param(
            self.param.step, label="Step shown", visible=False)
        self.playing_box = pn.widgets.Checkbox.from_param(
            self.param.playing, label="Playing", visible=False)
        answer_drags_at_once(self.shown_input, self.playing_box)
        self._link_play()

    def _link_play(self):
        """Step, Play and Reset run in the browser (PLAY_JS and its helpers)."""
        paths = [self.path_sources[key] for key in PATHS]
        js_args = dict(
            traj=self.trajectory_source, paths=paths,
            losses=[self.loss_sources[key] for key in PATHS],
            nows=[self.now_sources[key] for key in PATHS], line=self.line_source,
            data=self.data_source, batch=self.batch_source, schedule_now=self.schedule_now,
            status=self.status, shown=self.shown_input, running=self.playing_box,
            play=self.play_button, follow=self.follow_buttons,
            step_arrow=self.step_arrow_source, gradient_arrow=self.gradient_arrow_source,
            narration=self.narration,
        )
        self.play_button.js_on_click(args=js_args, code=PLAY_JS)
        self.step_button.js_on_click(args=js_args, code=STEP_JS)
        self.reset_button.js_on_click(args=js_args, code=RESET_JS)
        self.playing_box.jscallback(args=js_args, value=RUNNING_JS)
        self.play_button.jscallback(args=js_args, label=LABEL_JS)

    def _build_layout(self):
        controls = pn.Column(
            self.batch_slider, self.lr_slider, self.seed_input,
            pn.pane.Markdown("**Line follows**", margin=(5, 10, 0, 10)), self.follow_buttons,
            pn.Row(self.step_button, self.play_button, self.reset_button),
            self.inspect_box,
            self.message, self.shown_input, self.playing_box,
            width=300,
        )
        schedule_controls = pn.Column(
            self.schedule_select, self.clip_box, self.clip_slider, width=300)
        self.race_inspect_controls = pn.Column(
            pn.pane.Markdown("**Inspect racer**", margin=(5, 10, 0, 10)), self.racer_buttons,
            self.race_step_slider, visible=self.inspect, width=300)
        race_controls = pn.Column(self.race_lr_slider, self.race_steps_slider,
                                  self.race_inspect_controls, width=300)
        self.race_inspector_panel = pn.Column(
            pn.pane.Bokeh(self.race_narration, sizing_mode="stretch_width"),
            self.race_inspector, visible=self.inspect, sizing_mode="stretch_width")
        text = {"font-size": "1.1em"}
        self.inspector_panel = pn.Column(
            pn.pane.Bokeh(self.narration, sizing_mode="stretch_width"),
            pn.pane.Markdown(ARROWS_TEXT, sizing_mode="stretch_width", styles=text,
                             margin=(0, 10)),
            self.inspector, visible=self.inspect, sizing_mode="stretch_width")
        self.race_status.styles = text

        def row(*objects):
            return pn.Row(*objects, sizing_mode="stretch_width")

        def figure_pane(fig):
            return pn.pane.Bokeh(fig, sizing_mode="stretch_width")

        return theme.responsive(pn.Column(
            pn.pane.Markdown(INTRO, sizing_mode="stretch_width", styles=text),
            pn.pane.LaTeX(FORMULA, styles={"font-size": "1.15em"}),
            row(controls, figure_pane(self.linefit_figure), figure_pane(self.contour_figure)),
            pn.pane.Bokeh(self.status, sizing_mode="stretch_width"),
            self.inspector_panel,
            pn.pane.Markdown(SCHEDULE_TEXT, sizing_mode="stretch_width", styles=text),
            row(schedule_controls, figure_pane(self.schedule_figure),
                figure_pane(self.loss_figure)),
            pn.pane.Markdown(SADDLE_TEXT, sizing_mode="stretch_width", styles=text),
            row(race_controls, figure_pane(self.saddle_figure),
                figure_pane(self.saddle_loss_figure)),
            self.race_status,
            self.race_inspector_panel,
            sizing_mode="stretch_width",
        ))

    # ---------------------------------------------------------------- lecture interface
    # (app/lesson_api.py)

    key = "stochastic"
    link_params = ("batch_size", "learning_rate", "seed", "step", "follow", "schedule",
                   "clip", "clip_norm", "start", "race_learning_rate", "race_steps")
    csv_filename = "downhill-stochastic.csv"

    @classmethod
    def from_settings(cls, settings):
        return cls(**settings)

    def _link_defaults(self):
        surface = landscapes.get(LINE_FIT)
        defaults = {name: self.param[name].default for name in self.link_params}
        defaults.update(learning_rate=float(surface.lr),
                        start=tuple(float(v) for v in surface.start))
        return defaults

    def settings(self):
        return changed_settings(self, self.link_params, self._link_defaults())

    def apply_settings(self, settings):
        values = {**self._link_defaults(), **settings}
        self.pause()
        step = values.pop("step")
        self.param.update(**values)
        self.step = step

    def stop_animations(self):
        self.pause()

    def command(self, action):
        """A keyboard command: step/forward and back (pausing Play), reset, play/pause."""
        if action in ("step", "forward", "back"):
            self.pause()
            if action == "back":
                self.step = max(self.step - 1, 0)
            else:
                self.advance()
        elif action == "reset":
            self.reset()
        elif action == "play":
            self.toggle_play()

    def path_rows(self):
        """The three paths, steps 0 … step, with η per step."""
        rates = self.schedule_source.data["lr"]
        labels = {"full": "sgd (full batch)", "mini": f"sgd (batch {self.batch_size})",
                  "sgd": "sgd (batch 1)"}
        rows = []
        for path, run in self.runs.items():
            for step in range(int(self.step) + 1):
                m, b = run.points[step]
                rows.append((step, csv_number(m), csv_number(b), csv_number(run.losses[step]),
                             labels[path], csv_number(rates[min(step, MAX_STEPS - 1)])))
        return rows

    def status_text(self):
        if not self.runs:
            return ""
        k = int(self.step)
        parts = [f"{PATH_TITLES[path]} diverged" if diverged_at is not None else
                 f"{PATH_TITLES[path]} (m, b) = ({fmt(m)}, {fmt(b)}), loss {fmt(float(loss))}"
                 for path, diverged_at, m, b, loss in self._positions(k)]
        text = f"Stochastic: step {k}: " + "; ".join(parts) + "."
        if self.inspect:
            text += " " + self.narration_text()
        return text

    def __panel__(self):
        return self._layout

    # ---------------------------------------------------------------- the runs

    def _optimizer(self):
        lr = _schedule(self.schedule, self.learning_rate)
        return optimizers.get("sgd", lr=lr, clip_norm=self.clip_norm if self.clip else None)

    @param.depends("batch_size", "learning_rate", "seed", "schedule", "clip", "clip_norm",
                   "start", watch=True)
    def _recompute(self):
        values = (self.learning_rate, self.clip_norm, self.seed)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            self._show_message("Type a number for the learning rate, the gradient norm and "
                               "the seed; the paths keep their last settings.")
            return
        opt = self._optimizer()
        start = np.asarray(self.start, dtype=np.float64)
        self.start_source.data = {"x": [start[0]], "y": [start[1]]}
        sizes = self._batch_sizes()
        self.runs = {key: optimizers.descend(self.landscape, opt, start, steps=MAX_STEPS,
                                             batch_size=size, seed=self.seed)
                     for key, size in sizes.items()}
        # what the runs were made with: a setting typed wrong afterwards keeps the runs, and
        # the inspector must trace these, not the new (unused) values
        self._made_with = dict(opt=opt, start=start, sizes=sizes, seed=self.seed)
        self._traces, self._tips = {}, {}
        lr = opt.hyper["lr"]
        steps = np.arange(MAX_STEPS)
        rates = np.array([lr(int(t)) for t in steps])
        with pn.io.hold():
            self.schedule_source.data = {"step": steps, "lr": rates}
            self.schedule_figure.y_range.update(start=0, end=float(rates.max()) * 1.1 or 1.0)
            low, high = loss_axis_range([run.losses for run in self.runs.values()], log=True)
            self.loss_figure.y_range.update(start=low, end=high)
            self.trajectory_source.tags = [self._trajectory_info()]
            self.trajectory_source.data = self._trajectory(rates)
            self._show_message("")
            self._draw()

    def _trajectory(self, rates):
        """The three whole runs as the browser's Play reads them (see app/stochastic_js.py)."""
        n = len(self.landscape.data[0])
        data = {"step": np.arange(MAX_STEPS + 1),
                "lr": rates[np.minimum(np.arange(MAX_STEPS + 1), MAX_STEPS - 1)]}
        for key, run in self.runs.items():
            data[f"x_{key}"] = run.points[:, 0]
            data[f"y_{key}"] = run.points[:, 1]
            data[f"loss_{key}"] = run.losses
            if self.inspect:  # the −∇L arrow's tips, for Play to draw in the browser
                tips = self._arrow_tips(key)
                data[f"ax_{key}"], data[f"ay_{key}"] = tips[:, 0], tips[:, 1]
            if run.batches.shape[1] < n:  # a full batch is every example: no column
                # batch k is step k's; at the last step the last batch stays highlighted
                rows = run.batches[np.minimum(np.arange(MAX_STEPS + 1), MAX_STEPS - 1)]
                data[f"batch_{key}"] = [row.astype(np.int32) for row in rows]
        return data

    def _trajectory_info(self):
        return {
            "paths": [{"key": key, "title": PATH_TITLES[key], "label": self._path_label(key),
                       "diverged_at": int(run.diverged_at)} for key, run in self.runs.items()],
            "line_x": [float(v) for v in self._line(0.0, 0.0)["x"]],
        }

    def _path_label(self, key):
        return PATH_TITLES[key] + (f" ({self.batch_size})" if key == "mini" else "")

    @param.depends("clip", watch=True)
    def _clip_toggled(self):
        self.clip_slider.disabled = not self.clip

    @param.depends("step", "follow", watch=True)
    def _draw(self):
        """Step `step` of the three runs on screen (stochastic_js' reveal draws the same)."""
        if not self.runs:
            return
        k = int(self.step)
        with pn.io.hold():
            for key, run in self.runs.items():
                points = _finite_points(run, k)
                losses = run.losses[: len(points)]
                self.path_sources[key].data = {"x": points[:, 0], "y": points[:, 1]}
                self.loss_sources[key].data = {"step": np.arange(len(losses)), "loss": losses}
                self.now_sources[key].data = {"x": points[-1:, 0], "y": points[-1:, 1]}
            m, b = _finite_points(self.runs[self._followed()], k)[-1]
            self.line_source.data = self._line(m, b)
            batch = self.next_batch()
            in_batch = np.zeros(len(self.landscape.data[0]), dtype=bool)
            in_batch[batch] = True
            self.data_source.patch({"in_batch": [(slice(None), in_batch.tolist())]})
            x, y = self.landscape.data
            self.batch_source.data = {"x": np.asarray(x)[batch], "y": np.asarray(y)[batch]}
            now = min(k, MAX_STEPS - 1)
            self.schedule_now.data = {"step": [now], "lr": [self.schedule_source.data["lr"][now]]}
            self.status.text = self._status_html()
            if self.inspect:
                self._draw_inspector()

    # ---------------------------------------------------------------- inside the optimizer

    def _batch_sizes(self):
        return {"full": None, "mini": self.batch_size, "sgd": 1}

    def followed_trace(self):
        """optimizers.trace of the followed path's run: the same optimizer, start, batch size
        and seed as its drawn run, so its points are that run's, bit for bit (traced once per
        settings and path, and only while the inspector is shown)."""
        key, made = self._followed(), self._made_with
        if key not in self._traces:
            self._traces[key] = optimizers.trace(
                self.landscape, made["opt"], made["start"], steps=MAX_STEPS,
                batch_size=made["sizes"][key], seed=made["seed"])
        return self._traces[key]

    def inspected_report(self):
        """The followed path's StepReport of the step from `step` to `step` + 1; None at the
        last step (no step after it) or before any run."""
        if not self.runs or int(self.step) >= MAX_STEPS:
            return None
        trail, k = self.followed_trace(), int(self.step)
        if self._report[:2] != (trail, k):  # the table and the live status ask for the same
            self._report = (trail, k, trail.report(k))
        return self._report[2]

    def narration_text(self):
        """The narrated step: "<path>, step k → k+1: <sentence>" (plain text)."""
        title = self._path_label(self._followed())
        report = self.inspected_report()
        if report is None:
            return (f"{title}, step {int(self.step)}: the last step of the run; "
                    "there is no next step to explain.")
        mini_batch = self._made_with["sizes"][self._followed()] is not None
        return f"{title}, step {report.step} → {report.step + 1}: " + \
            narrate(report, self.landscape, mini_batch=mini_batch)

    def _arrow_tips(self, key):
        """Where the fixed-length −∇L arrow ends at each point of path `key` (NaN where ∇L is 0
        or not finite), as lesson 2's gradient arrow."""
        if key not in self._tips:
            (m0, m1), (b0, b1) = self.landscape.bounds
            run = self.runs[key]
            self._tips[key] = arrow_tips(run.points, run.grads,
                                         ARROW_FRACTION * min(m1 - m0, b1 - b0))
        return self._tips[key]

    def _draw_inspector(self):
        """The table, the sentence and the two arrows of the followed path at `step` (the
        browser's reveal draws the same arrows while Play runs)."""
        report = self.inspected_report()
        k = int(self.step)
        key = self._followed()
        point, tip = self.runs[key].points[k], self._arrow_tips(key)[k]
        if np.isfinite(point).all() and np.isfinite(tip).all():
            gradient = {"x0": [float(point[0])], "y0": [float(point[1])],
                        "x1": [float(tip[0])], "y1": [float(tip[1])]}
        else:
            gradient = step_arrow_data(None)  # empty columns
        self.inspector.update(report)
        self.narration.text = ("<div class='minibatch-status'>"
                               f"{html.escape(self.narration_text(), quote=False)}</div>")
        self.step_arrow_source.data = step_arrow_data(report)
        self.gradient_arrow_source.data = gradient

    @param.depends("inspect", watch=True)
    def _inspect_toggled(self):
        """Show or hide the inspector; hidden, it costs nothing per step (no trace, no text,
        no arrows)."""
        with pn.io.hold():
            self.inspector_panel.visible = self.inspect
            self.race_inspector_panel.visible = self.inspect
            self.race_inspect_controls.visible = self.inspect
            self._draw_race_inspector()
            if self.runs:
                self.trajectory_source.data = self._trajectory(
                    np.asarray(self.schedule_source.data["lr"]))
            if self.inspect:
                self._draw_inspector()
            else:
                self.step_arrow_source.data = step_arrow_data(None)
                self.gradient_arrow_source.data = step_arrow_data(None)

    def _tapped(self, event):
        """A tap (or double tap) on the (m, b) map starts all three paths there, from step 0."""
        (m0, m1), (b0, b1) = self.landscape.bounds
        if event.x is None or event.y is None or not (m0 <= event.x <= m1 and b0 <= event.y <= b1):
            return
        self.pause()
        with param.parameterized.batch_call_watchers(self):
            self.step = 0
            self.start = (float(event.x), float(event.y))

    def _followed(self):
        return next(key for key, title in PATH_TITLES.items() if title == self.follow)

    def next_batch(self):
        """The data indices the followed path's next step uses (the last step's at the end)."""
        run = self.runs[self._followed()]
        return run.batches[min(self.step, MAX_STEPS - 1)]

    def _positions(self, k):
        """(path, diverged_at, m, b, loss) of each path at step k: diverged_at is None while it
        has not diverged, and m, b, loss are None once it has."""
        for key, run in self.runs.items():
            if 0 <= run.diverged_at <= k:
                yield key, int(run.diverged_at), None, None, None
            else:
                m, b = run.points[k]
                yield key, None, m, b, run.losses[k]

    def _status_html(self):
        """Where the three paths are at `step` (stochastic_js' reveal writes the same HTML)."""
        k = int(self.step)
        parts = [f"{self._path_label(key)}: <b>diverged at step {diverged_at}</b>"
                 if diverged_at is not None else
                 f"{self._path_label(key)}: m = {_signed(m, 3)}, b = {_signed(b, 3)}, "
                 f"L = {_signed(loss, 4)}"
                 for key, diverged_at, m, b, loss in self._positions(k)]
        lr = self.schedule_source.data["lr"][min(k, MAX_STEPS - 1)]
        return (f"<div class='minibatch-status'><b>Step {k} of {MAX_STEPS}</b> "
                f"(η = {fmt(float(lr))}) · " + " · ".join(parts) + "</div>")

    def _show_message(self, text):
        self.message.object = text
        self.message.visible = bool(text)

    # ---------------------------------------------------------------- stepping

    def advance(self):
        """One step further along all three paths."""
        if self.step < MAX_STEPS:
            self.step += 1

    def toggle_play(self):
        """Play or pause from the server (a key, a link); the browser does the animating."""
        if self.playing:
            self.pause()
            return
        if self.step >= MAX_STEPS:  # from the end, Play starts over
            self.step = 0
        self.playing = True

    def pause(self):
        """Stop Play in the browser; the server's `step` is shown (it wins over the browser's).

        Pause pressed in the browser instead stops there and sends the step it reached.
        """
        self.playing = False

    def reset(self):
        self.pause()
        self.step = 0

    @param.depends("playing", watch=True)
    def _label_play(self):
        self.play_button.label = "Pause" if self.playing else "Play"

    # ---------------------------------------------------------------- saddle race

    @param.depends("race_learning_rate", "race_steps", watch=True)
    def _race(self):
        if self.race_learning_rate is None or not math.isfinite(self.race_learning_rate):
            self.race_status.object = ("**Type a number for the race learning rate**; the race "
                                       "keeps its last paths.")
            return
        start = np.asarray(self.saddle.start, dtype=np.float64)
        lines = []
        self._race_traces = {}
        self._race_lr = self.race_learning_rate  # the drawn race's, as _made_with
        with pn.io.hold():
            self.race_step_slider.end = self.race_steps
            self.race_step = min(self.race_step, self.race_steps)
            for key in RACERS:
                opt = optimizers.get(key, lr=self.race_learning_rate)
                run = optimizers.descend(self.saddle, opt, start, steps=self.race_steps)
                self.race[key] = run
                points = _finite_points(run, self.race_steps)
                self.race_sources[key].data = {"x": points[:, 0], "y": points[:, 1]}
                losses = run.losses[: len(points)]
                self.race_loss_sources[key].data = {"step": np.arange(len(losses)),
                                                    "loss": losses}
                escaped = np.flatnonzero(losses < 0.9 * self.saddle.min_value)
                when = (f"reaches a minimum at step {escaped[0]}" if escaped.size
                        else f"still on the plateau after {self.race_steps} steps")
                lines.append(f"{RACER_TITLES[key]}: {when}")
            self.race_status.object = " · ".join(lines)
            self._draw_race_inspector()

    def _racer(self):
        return next(key for key, title in RACER_TITLES.items() if title == self.inspect_racer)

    def race_trace(self):
        """optimizers.trace of the inspected racer's run (its points equal the drawn race's)."""
        key = self._racer()
        if key not in self._race_traces:
            opt = optimizers.get(key, lr=self._race_lr)
            self._race_traces[key] = optimizers.trace(
                self.saddle, opt, np.asarray(self.saddle.start, dtype=np.float64),
                steps=self.race_steps)
        return self._race_traces[key]

    def race_report(self):
        """The inspected racer's StepReport at `race_step` (None at its last step)."""
        if not self.race or int(self.race_step) >= self.race_steps:
            return None
        return self.race_trace().report(int(self.race_step))

    @param.depends("inspect_racer", "race_step", watch=True)
    def _draw_race_inspector(self):
        """The selected racer's table, sentence and arrows at `race_step` (only while shown)."""
        if not self.inspect or not self.race:
            for source in (self.race_step_arrow_source, self.race_gradient_arrow_source):
                if len(source.data["x0"]):
                    source.data = step_arrow_data(None)
            return
        key, k = self._racer(), int(self.race_step)
        report = self.race_report()
        run = self.race[key]
        (x0, x1), (y0, y1) = self.saddle.bounds
        tip = arrow_tips(run.points[k], run.grads[k], ARROW_FRACTION * min(x1 - x0, y1 - y0))
        point = run.points[k]
        with pn.io.hold():
            self.race_inspector.update(report)
            if report is None:
                sentence = (f"{self.inspect_racer}, step {k}: the last step of the race; there "
                            "is no next step to explain.")
            else:
                sentence = (f"{self.inspect_racer}, step {k} → {k + 1}: "
                            + narrate(report, self.saddle))
            self.race_narration.text = ("<div class='minibatch-status'>"
                                        f"{html.escape(sentence, quote=False)}</div>")
            self.race_step_arrow_source.data = step_arrow_data(report)
            self.race_gradient_arrow_source.data = (
                {"x0": [float(point[0])], "y0": [float(point[1])],
                 "x1": [float(tip[0])], "y1": [float(tip[1])]}
                if np.isfinite(point).all() and np.isfinite(tip).all()
                else step_arrow_data(None))
