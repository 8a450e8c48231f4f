"""A page with the state inspector alone (issue 16's pieces are not yet in a lesson), served by
tests/ui/test_inspector.py: `?optimizer=adam&k=3&landscape=bowl&lr=0.1&present=1`."""

import html

import panel as pn

import landscapes
import optimizers
from app import presenting, theme
from app.inspector import StateInspector
from app.narration import narrate

args = pn.state.session_args or {}


def arg(name, default):
    values = args.get(name)
    return values[0].decode() if values else default


landscape = landscapes.get(arg("landscape", "bowl"))
name = arg("optimizer", "adam")
opt = optimizers.get(name, lr=float(arg("lr", "0.1")))
report = optimizers.inspect_step(landscape, opt, landscape.start, int(arg("k", "3")))
sentence = pn.pane.HTML(html.escape(narrate(report, landscape)), name="narration", margin=(5, 10),
                        styles=theme.TEXT_STYLE, sizing_mode="stretch_width")
inspector = StateInspector(report, landscape)
if arg("present", "0") == "1":  # presentation mode, as the lecture toolbar sets it
    presenting.prepare_text(inspector)
    presenting.scale_text(inspector, True)
theme.responsive(pn.Column(sentence, inspector, sizing_mode="stretch_width")).servable(
    title="inspector")
