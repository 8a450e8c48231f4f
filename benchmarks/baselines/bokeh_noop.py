"""Pure-Bokeh baseline (`bokeh serve`-style app): the same kinds of models, widgets and events
as lesson 2 — a figure, a path source, a learning-rate slider, Step and Play buttons, taps —
with trivial callbacks. Model names and labels match the app's, so one driver measures both."""

from bokeh.events import Tap
from bokeh.io import curdoc
from bokeh.layouts import column, row
from bokeh.models import Button, ColumnDataSource, Slider
from bokeh.plotting import figure

START = (4.0, 3.0)

path = ColumnDataSource({"x": [START[0]], "y": [START[1]]}, name="landscape-path")
fig = figure(name="landscape-figure", x_range=(-5, 5), y_range=(-5, 5), width=600, height=500,
             tools="", toolbar_location=None)
fig.line("x", "y", source=path)
fig.scatter("x", "y", source=path)
slider = Slider(title="Learning rate", start=-3, end=0, value=-1, step=0.01)
step = Button(label="Step downhill")
play = Button(label="Play")


def on_tap(event):
    path.data = {"x": [event.x], "y": [event.y]}


def on_learning_rate(_attr, _old, new):
    shrink = 1 - 10**new
    path.data = {"x": [START[0], START[0] * shrink], "y": [START[1], START[1] * shrink]}


def on_step():
    x, y = path.data["x"][-1], path.data["y"][-1]
    path.stream({"x": [0.8 * x], "y": [0.8 * y]})


fig.on_event(Tap, on_tap)
slider.on_change("value", on_learning_rate)
step.on_click(on_step)
curdoc().add_root(column(fig, slider, row(step, play)))
