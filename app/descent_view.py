"""Lesson 2's controls and layout: the texts, the widgets (η slider and box, optimizer,
racers, hyperparameters, Step/Play/Reset), the status panes and the page layout of the lesson.

`DescentView` is a mixin of `GradientDescent` (app/descent.py, the state and callbacks); its
figures are `DescentFigures` (app/descent_figures.py). Also here: how the lesson prints a
number (`fmt`, as the browser's FMT_JS) and a racer's status line (`status_entry`).
"""

import html

import numpy as np
import panel as pn
import param
from bokeh.models import Slider

import circuits
import landscapes
import optimizers
from app import theme
from app.controls import answer_drags_at_once, log_slider
from app.descent_figures import MAX_RACERS, DescentFigures, present_later
from app.descent_js import PLAY_JS, RESET_JS, STEP_JS
from app.upstream_patches import text_only_html

DOMAIN_LABELS = ("x from", "x to", "y from", "y to")

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

LR_MIN, LR_MAX = 1e-6, 10.0  # what η may be (typed, or a landscape's own default)
SLIDER_MIN = 1e-4  # the slider spans 1e-4 … 10; smaller η pin it to its left end


def optimizer_title(name):
    return OPTIMIZER_TITLES.get(name, name)


def fmt(value, digits=4):
    """A number as the status prints it (the Play animation formats the same way in JS)."""
    if not np.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    return f"{value:.{digits}g}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")



def status_entry(label, color, k, point, loss, grad_norm, diverged_at,
                 reason="it ran off to infinity"):
    """One racer's status line (HTML). PLAY_JS builds exactly the same line in the browser."""
    head = (
        f"<span style='color:{color}'>&#9679;</span> <b>{html.escape(label)}</b> "
        f"&middot; step <b>{k}</b>"
    )
    if 0 <= diverged_at <= k:
        return (
            f"<div>{head} &middot; <b class='downhill-warning'>diverged at step "
            f"{diverged_at}</b>: {html.escape(reason)}</div>"
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
FULL_LINE_CSS = ":host { flex: 1 1 100% !important; }"
YOUR_FUNCTION = "Your function"  # the Landscape picker's entry for the typed f(x, y)
FUNCTION_LABEL = "Your function f(x, y)"
DOMAIN_TITLE = "<div class='downhill-status'>Domain of f</div>"
DOMAIN_INPUT_CSS = ":host { --font-size: 14px; }"
MESSAGE_CSS = """
.downhill-message { color: #b3261e; font-size: 14px; font-weight: 600; }
"""


class NamedHTML(text_only_html()):
    """An HTML pane whose Bokeh model carries a stable `name` (a test handle, app/README.md).

    The status changes on every tap, step and η change, so it is an HTML pane rather than a
    Bokeh Div: BokehJS (3.10) answers any change to a Div by re-rendering it and laying out
    the whole page again (MarkupView.rerender → compute_layout of the layout root, which
    measures every figure anew), while Panel's HTML view only replaces its innerHTML. The
    model's `text` is the HTML, escaped (Panel's HTML model unescapes it in the browser).
    A new status sends only its text (app/upstream_patches.py, "text-only pane updates").
    """

    model_name = param.String(default="", doc="The Bokeh model's name")

    priority = False  # never chosen by pn.panel() for an arbitrary object
    _rename = {"model_name": None}

    def _get_model(self, doc, root=None, parent=None, comm=None):
        model = super()._get_model(doc, root, parent, comm)
        model.name = self.model_name
        return model



HISTORY_LABEL = "History: step k"


class DescentView(DescentFigures):
    """The figures, widgets and layout of GradientDescent (a mixin: the lesson's parameters
    and callbacks are GradientDescent's)."""

    # ------------------------------------------------------------------- controls

    def _build_controls(self):
        # Not linked to the parameter: picking "Your function" draws the typed function (or
        # says why it cannot), so the picker may have to return to what is shown.
        self.landscape_select = pn.widgets.Select(
            label="Landscape", value=self.landscape,
            options={**{landscapes.get(n).title: n for n in landscapes.names()},
                     YOUR_FUNCTION: "custom"},
            sizing_mode="stretch_width",
        )
        self.landscape_select.param.watch(self._on_landscape_pick, "value")
        self._build_function_controls()
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
        # issue 16: scrub the history (the same `shown`: moving it never recomputes the path)
        # A Bokeh Slider, not a Panel widget: the server moves it on every step, and a Panel
        # widget's value change cost ~0.6 ms of server CPU per step (measured, 100 steps),
        # a Bokeh property ~0.05 ms (the lecture hall's budget: app/README.md).
        self.history = Slider(
            title=HISTORY_LABEL, start=0, end=max(int(self.steps), 1), value=int(self.shown),
            step=1, format="0", name="history", sizing_mode="stretch_width",
            css_classes=["downhill-history"], margin=(5, 10),
        )
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
            # racer 1's sources; PLAY_JS finds racers 2-4's by name (built when first raced)
            traj=self.trajectory_source, paths=self.path_sources[:1],
            losses=self.loss_sources[:1],
            arrow=self.arrow_source, status=self.status, shown=self.shown_input,
            play=self.play_button, speed=self.speed_slider, scrub=self.history,
            mark=self.loss_step_mark,
        )
        # All three buttons act in the browser and talk to the server through `shown` alone,
        # so a step pressed right after a pause can never overtake the pause's position.
        self.play_button.js_on_click(args=js_args, code=PLAY_JS)
        self.step_button.js_on_click(args=js_args, code=STEP_JS)
        self.reset_button.js_on_click(args=js_args, code=RESET_JS)

    def _build_function_controls(self):
        """Your own function: the f(x, y) box and its message; the domain, "Draw f" and "Open
        in lesson 3" follow when first needed (`_build_function_rest`)."""
        self.function_input = pn.widgets.TextInput(
            label=FUNCTION_LABEL, value=self.function, max_length=circuits.MAX_LENGTH,
            placeholder="e.g. sin(x)*cos(y) + 0.1*(x**2 + y**2)", sizing_mode="stretch_width",
        )
        # One change per Enter (or per domain number): answered at once, not 50 ms later, so a
        # message for bad input is on screen within a frame or two of the key.
        answer_drags_at_once(self.function_input)
        self.function_input.param.watch(lambda _event: self.draw_function(), "enter_pressed")
        self.function_message = pn.pane.HTML("", stylesheets=[MESSAGE_CSS], margin=(0, 10),
                                             sizing_mode="stretch_width")
        self.function_box = pn.Column(self.function_input, self.function_message,
                                      margin=0, sizing_mode="stretch_width")
        self.domain_inputs = self.domain_box = None
        self.draw_function_button = self.open_circuit_button = None
        if self.landscape == "custom":
            self._build_function_rest()
        else:  # the rest arrives when the student starts typing (or picks "Your function")
            self._typing_watcher = self.function_input.param.watch(
                lambda _event: self._build_function_rest(), "value_input")

    def _build_function_rest(self):
        """The domain boxes, "Draw f" and "Open in lesson 3" (once): built when the student
        first types into the f box or picks "Your function", or with the lesson when it opens
        on a typed function (a link's fn=). Until then each join saves their models."""
        if self.domain_inputs is not None:
            return
        watcher = getattr(self, "_typing_watcher", None)
        if watcher is not None:
            self.function_input.param.unwatch(watcher)
            self._typing_watcher = None
        self.domain_inputs = [
            pn.widgets.FloatInput(label=label, value=float(value), step=0.5, width=66,
                                  margin=(5, 2), stylesheets=[DOMAIN_INPUT_CSS])
            for label, value in zip(DOMAIN_LABELS, self.domain, strict=True)
        ]
        for box in self.domain_inputs:
            answer_drags_at_once(box)
            box.param.watch(self._on_domain_typed, "value")
        self.draw_function_button = pn.widgets.Button(label="Draw f", color="primary",
                                                      width=80, margin=(5, 4, 5, 10))
        self.draw_function_button.on_click(lambda _event: self.draw_function())
        self.open_circuit_button = pn.widgets.Button(label="Open in lesson 3", width=140,
                                                     margin=(5, 4))
        self.open_circuit_button.on_click(lambda _event: self.open_in_backprop())
        title = pn.pane.HTML(DOMAIN_TITLE, margin=(0, 10), stylesheets=[STATUS_CSS])
        self.domain_box = pn.Row(*self.domain_inputs, margin=(0, 7))
        if hasattr(self, "_layout"):  # after the lecture prepared the lesson's text
            present_later(self, [title, *self.domain_inputs, self.draw_function_button,
                                 self.open_circuit_button])
        self.function_box[:] = [
            self.function_input, title, self.domain_box,
            pn.Row(self.draw_function_button, self.open_circuit_button, margin=0),
            self.function_message,
        ]

    def typed_domain(self):
        """The domain in the boxes (the lesson's own before they are built)."""
        if self.domain_inputs is None:
            return tuple(self.domain)
        return tuple(box.value for box in self.domain_inputs)

    def _on_landscape_pick(self, event):
        if self._updating:
            return
        if event.new == "custom":
            self._build_function_rest()
        if self.choose_landscape(event.new):  # refused: the picker shows what is drawn
            self._show_surface_choice()

    def _on_domain_typed(self, _event):
        # While your function is shown, a new domain applies at once (else on "Draw f").
        if not self._updating and self.landscape == "custom":
            self.use_function(self.function, tuple(box.value for box in self.domain_inputs))

    def _show_surface_choice(self):
        """The picker, the f box and the domain boxes show what is drawn (quietly)."""
        updating, self._updating = self._updating, True
        try:
            self.landscape_select.value = self.landscape
            if self.function:
                self.function_input.param.update(value=self.function,
                                                 value_input=self.function)
            if self.landscape == "custom":
                self._build_function_rest()
                for box, value in zip(self.domain_inputs, self.domain, strict=True):
                    box.value = float(value)
        finally:
            self._updating = updating

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

    # ------------------------------------------------------------------- layout

    def _build_layout(self):
        buttons = pn.Row(self.step_button, self.play_button, self.reset_button)
        controls = pn.Column(
            self.lr_slider,
            self.lr_input,
            self.message,
            buttons,
            # issue 15: η* = 2/λmax (its tick is on the slider); below the buttons, so that on
            # a phone Step, Play and Reset follow η directly under the map
            self.stability.critical,
            self.history,
            self.inside.controls,  # issue 16: the inspector's and quiz's boxes, score, sentence
            self.speed_slider,
            self.steps_slider,
            self.landscape_select,
            self.function_box,
            self.optimizer_select,
            self.hyper_box,
            self.race_choice,
            self.stability.controls,  # issue 15: the basin map's toggle, presets and key
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
            self.inside.view,  # issue 16: the state inspector (empty until its box is ticked)
            self.status,
            self.loss_figure,
            explanation,
            sizing_mode="stretch_width",
            min_width=theme.SIDE_FIGURE_WIDTH,
        )
        # The row wraps (theme.responsive): on a laptop the three columns stand side by side,
        # on a projector the status, loss plot and text go below the map, and on a phone the
        # map comes first, then the controls (η and the buttons right below it).
        # issue 15: the learning-rate sweep takes a line of its own below (FULL_LINE_CSS)
        self.stability.view.stylesheets = [*self.stability.view.stylesheets, FULL_LINE_CSS]
        return theme.responsive(pn.Row(
            controls, self.landscape_figure, side, self.stability.view,
            sizing_mode="stretch_width",
        ))

    @property
    def landscape_formula(self):
        if not hasattr(self, "_landscape_formula"):
            self._landscape_formula = pn.pane.LaTeX("", styles={"font-size": "1.05em"},
                                                    margin=(0, 10))
        return self._landscape_formula

