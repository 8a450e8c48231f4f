"""Lesson 3 — Backpropagation: the gate circuit f = (x+y)·z + max(x, w).

Every number on screen comes from `circuits` (values, local gradients, what each gate sends
down its wires) and, for the neuron's update, from `optimizers`; this view draws them and
reveals them one gate at a time.

Animation: "Forward" and "Backward" start a session-scoped periodic callback that reveals one
gate per tick and removes itself when the pass is complete, when another button takes over,
and when the browser session closes.

This file owns the lesson's state, widgets, layout, callbacks, animation and lecture interface
(app/lesson_api.py); its texts and sentences about the circuit are app/backprop_text.py, the
circuit's drawing app/circuit_view.py.
"""

import math

import numpy as np
import panel as pn
import param
from bokeh.events import DoubleTap, Tap

import circuits
from app import theme
from app.backprop_text import (
    FORMULA,
    INTRO,
    LEGEND,
    NEURON_EXPRESSION,
    CircuitText,
)
from app.circuit_view import (
    CircuitFigure,
    layout,
    number_label,
    total_steps,
)

DEFAULT_EXPRESSION = "(x+y)*z + max(x, w)"
INPUT_LIMIT = 1000.0
ANIMATION_PERIOD_MS = 700
CUSTOM = "Custom expression"

# Each preset: the expression and the inputs that make the lesson's worked example.
PRESETS = {
    "(x+y)·z + max(x, w), max picks x": (DEFAULT_EXPRESSION,
                                           {"x": -2, "y": 5, "z": -4, "w": -3}),
    "(x+y)·z + max(x, w), max picks w": (DEFAULT_EXPRESSION,
                                           {"x": -2, "y": 5, "z": -4, "w": -1}),
    "(x+y)·z at (−2, 5, −4)": ("(x+y)*z", {"x": -2, "y": 5, "z": -4}),
    "One neuron (x·w + b − y)²": (NEURON_EXPRESSION, {"x": 2, "w": 0.5, "b": 0.1, "y": 3}),
    "Chain rule (2x + 3)² at x = 1": ("(2*x + 3)**2", {"x": 1}),
    "Sigmoid neuron σ(w0·x0 + w1·x1 + w2)": (
        "sigmoid(w0*x0 + w1*x1 + w2)", {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}),
    "ReLU neuron relu(x·w + b)": ("relu(x*w + b)", {"x": 2, "w": 0.5, "b": 0.1}),
}
PATTERNS = (("a + b", "add distributes"), ("a * b", "multiply switches"),
            ("max(a, b)", "max routes"))
PATTERN_SPACING = 2.7


def _finite(circuit) -> bool:
    return all(np.all(np.isfinite(node.value)) and np.all(np.isfinite(node.grad))
               for node in circuit.nodes)



class Backpropagation(CircuitText, pn.viewable.Viewer):
    """The backpropagation lesson: forward values and backward gradients on a gate circuit."""

    expression = param.String(default=DEFAULT_EXPRESSION, doc="The circuit's formula")
    preset = param.Selector(default=next(iter(PRESETS)), objects=[*PRESETS, CUSTOM])
    upstream = param.Number(default=1.0, doc="∂(final)/∂f fed into the output")
    progress = param.Integer(default=0, bounds=(0, None), doc="Animation step (see reveal)")
    # allow_None: a cleared input box arrives as None; it gets a message, not an exception
    pattern_a = param.Number(default=3.0, bounds=(-10, 10), allow_None=True,
                             doc="Pattern gates' first input")
    pattern_b = param.Number(default=-1.0, bounds=(-10, 10), allow_None=True,
                             doc="Pattern gates' second input")

    def __init__(self, **params):
        super().__init__(**params)
        self.values: dict[str, float] = {}
        self.selected = None
        self.circuit = None
        self.places = {}
        self._animation = None
        self._animation_target = 0
        self._reverting = False
        self._stepped = False  # the last change of `progress` was a Step or an animation frame

        self.view = CircuitFigure("circuit", height=360, grow=True)
        self.patterns = CircuitFigure("pattern", height=230)
        self.view.figure.on_event(Tap, self._tapped)
        self.view.figure.on_event(DoubleTap, self._tapped)

        self.preset_select = pn.widgets.Select.from_param(self.param.preset, label="Preset")
        self.expression_input = pn.widgets.TextInput(
            label="Expression", value=self.expression, max_length=circuits.MAX_LENGTH, width=220,
            placeholder="e.g. relu(x*w + b), then Enter",
        )
        self.draw_button = pn.widgets.Button(label="Draw", color="default",
                                             align="end", width=70)
        self.error = pn.pane.Alert("", alert_type="danger", visible=False, margin=(0, 10))
        self.upstream_slider = self._input_slider("Upstream gradient", self.upstream)
        self.forward_button = pn.widgets.Button(label="Forward", color="success", width=100)
        self.backward_button = pn.widgets.Button(label="Backward", color="danger", width=100)
        self.step_button = pn.widgets.Button(label="Step", color="primary", width=100)
        self.show_all_button = pn.widgets.Button(label="Show all", color="default", width=100)
        self.sliders: dict[str, pn.widgets.EditableFloatSlider] = {}
        self.inputs_box = pn.Column(margin=0)
        self.status = pn.pane.Markdown("", sizing_mode="stretch_width", margin=(0, 10))
        self.gate_info = pn.pane.Markdown(
            "Tap a gate to see what it does to the gradient.", sizing_mode="stretch_width",
            margin=(0, 10), styles={"font-size": "1.05em"},
        )
        self.update_note = pn.pane.Markdown("", sizing_mode="stretch_width", margin=(0, 10),
                                            visible=False)
        self.pattern_a_slider = pn.widgets.EditableFloatSlider.from_param(
            self.param.pattern_a, label="Input a", step=0.1, width=260)
        self.pattern_b_slider = pn.widgets.EditableFloatSlider.from_param(
            self.param.pattern_b, label="Input b", step=0.1, width=260)
        self.pattern_note = pn.pane.Markdown("", margin=(0, 10), visible=False,
                                             styles={"color": "#b84f00"})
        self.pattern_circuits = [circuits.parse(text) for text, _ in PATTERNS]
        self.pattern_places = [layout(c.nodes) for c in self.pattern_circuits]

        self.expression_input.param.watch(self._expression_typed, "value")
        self.draw_button.on_click(lambda event: self._expression_typed(None))
        self.upstream_slider.param.watch(self._upstream_moved, "value")
        self.forward_button.on_click(lambda event: self.play_forward())
        self.backward_button.on_click(lambda event: self.play_backward())
        self.step_button.on_click(lambda event: self.step())
        self.show_all_button.on_click(lambda event: self.show_all())
        if pn.state.curdoc is not None:
            pn.state.curdoc.on_session_destroyed(self._session_closed)

        self._load(*PRESETS[self.preset])
        self._draw_patterns()
        self._layout = self._build_layout()

    # ---------------------------------------------------------------- layout

    def _build_layout(self):
        controls = pn.Column(
            self.preset_select,
            pn.Row(self.expression_input, self.draw_button, margin=0),
            self.error,
            pn.pane.Markdown("**Inputs** (drag, or type a number)", margin=(5, 10, 0, 10)),
            self.inputs_box,
            self.upstream_slider,
            width=330,
        )
        text = {"font-size": "1.15em"}
        self.status.styles = text
        self.gate_info.styles = text
        self.update_note.styles = text
        circuit_column = pn.Column(
            pn.Row(self.forward_button, self.backward_button, self.step_button,
                   self.show_all_button, margin=(0, 5)),
            pn.pane.Bokeh(self.view.figure, sizing_mode="stretch_width"),
            pn.pane.HTML(LEGEND, margin=(0, 10), styles=text),
            self.status,
            self.gate_info,
            self.update_note,
            sizing_mode="stretch_width",
        )
        patterns = pn.Column(
            pn.pane.Markdown(
                "### Gate patterns (upstream gradient 1, the same inputs a and b for all three)\n"
                "**add** copies the gradient to every input; **multiply** gives each input the "
                "*other* input's value (large inputs, large gradients); **max** sends it all "
                "to the larger input and zero to the other.",
                sizing_mode="stretch_width",
            ),
            pn.Row(
                pn.Column(self.pattern_a_slider, self.pattern_b_slider, self.pattern_note,
                          width=280),
                pn.pane.Bokeh(self.patterns.figure, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            ),
            sizing_mode="stretch_width",
        )
        return theme.responsive(pn.Column(
            pn.pane.Markdown(INTRO, sizing_mode="stretch_width", styles={"font-size": "1.05em"}),
            pn.pane.LaTeX(FORMULA, styles={"font-size": "1.15em"}),
            pn.Row(controls, circuit_column, sizing_mode="stretch_width"),
            patterns,
            sizing_mode="stretch_width",
        ))

    # ---------------------------------------------------------------- lecture interface
    # (app/lesson_api.py)

    key = "backprop"
    link_params = ("preset", "upstream")
    csv_filename = None  # a circuit has no path to download

    @classmethod
    def from_settings(cls, settings):
        lesson = cls()
        lesson.apply_settings(settings)
        return lesson

    def settings(self):
        settings = {}
        default_expression, default_inputs = next(iter(PRESETS.values()))
        if self.expression != default_expression:
            settings["expression"] = self.expression
        inputs = {name: float(value) for name, value in self.values.items()}
        if inputs != {k: float(v) for k, v in default_inputs.items()}:
            settings["inputs"] = inputs
        if self.upstream != 1.0:
            settings["upstream"] = float(self.upstream)
        return settings

    def apply_settings(self, settings):
        default_expression, _ = next(iter(PRESETS.values()))
        expression = settings.get("expression", default_expression)
        inputs = settings.get("inputs")
        preset = next((name for name, (expr, values) in PRESETS.items()
                       if expr == expression and (inputs is None or inputs == {
                           k: float(v) for k, v in values.items()})), None)
        if preset is not None:
            self.load_preset(preset)
        else:
            self._load(expression, inputs or {})
            self._reverting = True  # the Preset picker follows without loading a preset
            try:
                self.preset = CUSTOM
            finally:
                self._reverting = False
        upstream = float(settings.get("upstream", 1.0))
        if self.upstream_slider.value != upstream:
            self.upstream_slider.value = upstream

    def load_preset(self, name):
        """Show the preset `name` (one of PRESETS), afresh even when it is the one picked."""
        if self.preset == name:
            self._load(*PRESETS[name])
        else:
            self.preset = name

    def command(self, action):
        """A keyboard command: step/forward, back, reset, or play (forward, then backward)."""
        if action in ("step", "forward"):
            if action == "step" or self.progress < total_steps(self.circuit):
                self.step()
        elif action in ("back", "reset"):
            self.stop_animations()
            self.progress = max(self.progress - 1, 0) if action == "back" else 0
        elif action == "play":
            if self.animating:
                self.show_all()
            elif self.progress < len(self.circuit.forward_order):
                self.play_forward()
            else:
                self.play_backward()

    def path_rows(self):
        return []

    def status_text(self):
        if self.circuit is None:
            return ""
        return (f"Backpropagation: step {self.progress} of "
                f"{total_steps(self.circuit)} through the circuit.")

    def __panel__(self):
        return self._layout

    def _input_slider(self, label, value):
        return pn.widgets.EditableFloatSlider(
            label=label, value=float(value), start=min(-10.0, float(value)),
            end=max(10.0, float(value)), step=0.1,
            fixed_start=-INPUT_LIMIT, fixed_end=INPUT_LIMIT, width=290,
        )

    # ---------------------------------------------------------------- the circuit

    def _evaluate(self, circuit, values, upstream):
        """Run both passes; a message (and no change) if any number is not finite."""
        circuit.forward(**values)
        circuit.backward(upstream)
        if not _finite(circuit):
            shown = ", ".join(f"{k} = {number_label(v)}" for k, v in values.items())
            raise circuits.ExpressionError(
                f"the numbers overflow at {shown or 'these inputs'} (a value or gradient is "
                "infinite or undefined); the circuit keeps its last finite numbers")

    def _load(self, expression, values):
        """Parse, evaluate and draw `expression` with `values`; on error keep the last one."""
        try:
            circuit = circuits.parse(expression)
            merged = {name: float(values.get(name, self.values.get(name, 1.0)))
                      for name in circuit.variables}
            for name, value in merged.items():
                if not (math.isfinite(value) and abs(value) <= INPUT_LIMIT):
                    raise circuits.ExpressionError(
                        f"{name} must be a finite number between −1000 and 1000")
            self._evaluate(circuit, merged, self.upstream)
        except circuits.ExpressionError as error:
            self._show_error(str(error))
            return False
        self.stop_animations()
        self._stepped = False
        self.circuit, self.values, self.selected = circuit, merged, None
        self.places = layout(circuit.nodes)
        with param.parameterized.discard_events(self):
            self.expression = expression
            self.progress = total_steps(circuit)
        self._reverting = True
        try:
            self.expression_input.value = expression
        finally:
            self._reverting = False
        self._show_error("")
        self._rebuild_sliders()
        self.gate_info.object = "Tap a gate to see what it does to the gradient."
        self._redraw()
        return True

    def _rebuild_sliders(self):
        sliders = []
        for name in self.circuit.variables:
            slider = self.sliders.get(name)
            if slider is None:
                slider = self._input_slider(name, self.values[name])
                slider.param.watch(lambda event, name=name: self._input_moved(name, event),
                                   "value")
                self.sliders[name] = slider
            else:
                self._set_quietly(slider, self.values[name])
            sliders.append(slider)
        # Only the current circuit's sliders are kept, so typing many expressions with new
        # variable names cannot pile up widgets in a session.
        self.sliders = {name: self.sliders[name] for name in self.circuit.variables}
        self.inputs_box.objects = sliders

    def _set_quietly(self, slider, value):
        self._reverting = True
        try:
            if value < slider.start:
                slider.start = value
            if value > slider.end:
                slider.end = value
            slider.value = value
        finally:
            self._reverting = False

    def _show_error(self, message):
        self.error.object = message
        self.error.visible = bool(message)

    def _expression_typed(self, event):
        if self._reverting:
            return
        text = self.expression_input.value
        if len(text) > circuits.MAX_LENGTH:
            self._show_error(f"at most {circuits.MAX_LENGTH} characters")
            return
        if self._load(text, self.values):
            preset = next((name for name, (expr, _) in PRESETS.items()
                           if expr == text and name == self.preset), CUSTOM)
            self._reverting = True  # the Preset picker follows without loading the preset
            try:
                self.preset = preset
            finally:
                self._reverting = False

    @param.depends("preset", watch=True)
    def _preset_chosen(self):
        if self.preset in PRESETS and not self._reverting:
            expression, values = PRESETS[self.preset]
            self._load(expression, values)

    def _input_moved(self, name, event):
        if self._reverting or self.circuit is None:
            return
        values = {**self.values, name: event.new}
        if self._try(values, self.upstream):
            self.values = values
        else:
            self._set_quietly(self.sliders[name], event.old)

    def _upstream_moved(self, event):
        if self._reverting or self.circuit is None:
            return
        if self._try(self.values, event.new):
            self.upstream = event.new
        else:
            self._set_quietly(self.upstream_slider, event.old)

    def _try(self, values, upstream) -> bool:
        """Re-run the circuit with new inputs; on bad numbers restore the last good ones."""
        bad = [k for k, v in values.items() if v is None or not math.isfinite(v)]
        if upstream is None or not math.isfinite(upstream):
            bad.append("the upstream gradient")
        try:
            if bad:
                raise circuits.ExpressionError(f"{bad[0]} must be a finite number")
            self._evaluate(self.circuit, values, upstream)
        except circuits.ExpressionError as error:
            self._show_error(str(error))
            self._evaluate(self.circuit, self.values, self.upstream)
            return False
        self._show_error("")
        self._redraw()
        return True

    # ---------------------------------------------------------------- animation

    def play_forward(self):
        """Clear the numbers and reveal the values gate by gate, inputs to output."""
        self.progress = 0
        self._animate(len(self.circuit.forward_order))

    def play_backward(self):
        """Show every value, clear the gradients, then reveal them gate by gate from the output."""
        self.progress = len(self.circuit.forward_order)
        self._animate(total_steps(self.circuit))

    def step(self):
        """One gate further (forward, then backward); after the last step start over."""
        self.stop_animations()
        self._stepped = True
        self.progress = 0 if self.progress >= total_steps(self.circuit) else self.progress + 1

    def show_all(self):
        self.stop_animations()
        self._stepped = False
        self.progress = total_steps(self.circuit)
        self._redraw()

    def _animate(self, target):
        self.stop_animations()
        self._stepped = True
        self._animation_target = target
        if self.progress < target:
            self._animation = pn.state.add_periodic_callback(
                self.tick, period=ANIMATION_PERIOD_MS)

    def tick(self):
        """One animation frame: reveal the next gate; the callback ends itself at the target."""
        if self.progress < self._animation_target:
            self.progress += 1
        if self.progress >= self._animation_target:
            self.stop_animations()

    def _session_closed(self, session_context):
        """The browser went away: no animation frame may outlive its session."""
        self.stop_animations()

    @property
    def animating(self) -> bool:
        return self._animation is not None

    def stop_animations(self):
        if self._animation is not None:
            self._animation.stop()
            self._animation = None

    @param.depends("progress", watch=True)
    def _progress_moved(self):
        self._redraw()

    # ---------------------------------------------------------------- drawing

    def _redraw(self):
        with pn.io.hold():
            self.view.draw([(self.circuit, self.places, 0.0, self.progress)], self.selected,
                           highlight=self.progress < total_steps(self.circuit) or self._stepped)
            self.status.object = self._circuit_status()
            if self.selected is not None:
                self.gate_info.object = self._node_text(self.selected)
            self.update_note.object = self._update_text()
            self.update_note.visible = bool(self.update_note.object)


    # ---------------------------------------------------------------- taps

    def _tapped(self, event):
        node_id = self.view.node_at(event.x, event.y)
        self.selected = node_id if node_id is not None and node_id >= 0 else None
        if self.selected is None:
            self.gate_info.object = "Tap a gate to see what it does to the gradient."
        self._redraw()

    # ---------------------------------------------------------------- patterns

    @param.depends("pattern_a", "pattern_b", watch=True)
    def _draw_patterns(self):
        values = {"a": self.pattern_a, "b": self.pattern_b}
        missing = [name for name, value in values.items() if value is None]
        self.pattern_note.object = (f"Type a number for {missing[0]}; the gates keep their "
                                    "last inputs." if missing else "")
        self.pattern_note.visible = bool(missing)
        if missing:
            return
        parts = []
        for index, circuit in enumerate(self.pattern_circuits):
            circuit.forward(**values)
            circuit.backward(1.0)
            parts.append((circuit, self.pattern_places[index], index * PATTERN_SPACING,
                          total_steps(circuit)))
        self.patterns.draw(parts, titles=[title for _, title in PATTERNS])
