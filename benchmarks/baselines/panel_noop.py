"""No-op Panel baseline: the same kinds of widgets and events as lesson 2 (a Bokeh figure in a
Panel pane, a FloatSlider, Step and Play buttons, taps) with trivial callbacks and Panel's
defaults (50 ms widget debounce). Model names and labels match the app's."""

import panel as pn
from bokeh.events import Tap
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

START = (4.0, 3.0)


def build():
    path = ColumnDataSource({"x": [START[0]], "y": [START[1]]}, name="landscape-path")
    fig = figure(name="landscape-figure", x_range=(-5, 5), y_range=(-5, 5), width=600,
                 height=500, tools="", toolbar_location=None)
    fig.line("x", "y", source=path)
    fig.scatter("x", "y", source=path)
    slider = pn.widgets.FloatSlider(label="Learning rate", start=-3, end=0, value=-1, step=0.01)
    step = pn.widgets.Button(label="Step downhill")
    play = pn.widgets.Button(label="Play")

    def on_tap(event):
        path.data = {"x": [event.x], "y": [event.y]}

    def on_learning_rate(event):
        shrink = 1 - 10**event.new
        path.data = {"x": [START[0], START[0] * shrink], "y": [START[1], START[1] * shrink]}

    def on_step(_event):
        x, y = path.data["x"][-1], path.data["y"][-1]
        path.stream({"x": [0.8 * x], "y": [0.8 * y]})

    fig.on_event(Tap, on_tap)
    slider.param.watch(on_learning_rate, "value")
    step.on_click(on_step)
    return pn.Column(pn.pane.Bokeh(fig), slider, pn.Row(step, play))


build().servable(title="Panel baseline")
