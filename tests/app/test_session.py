"""app/session.py: a session's JS callbacks leave Panel's registry when the session ends (the
registry's values hold their own keys, so without this a lesson with an EditableFloatSlider or
a jscallback outlives its session)."""

import gc
import weakref

import panel as pn
from panel.links import Callback

from app.session import JsCallbackSources


def test_a_sessions_js_callback_sources_are_dropped_and_collected_when_it_ends():
    other = pn.widgets.FloatSlider()
    other.jscallback(value="console.log(1)")  # another session's: must stay
    sources = JsCallbackSources()
    with sources.tracking():
        slider = pn.widgets.EditableFloatSlider(value=0.5)  # links its text box to its slider
        button = pn.widgets.Button()
        button.jscallback(clicks="console.log(2)")
    assert button in sources.sources and len(sources.sources) >= 2
    assert other not in sources.sources
    gone = weakref.ref(slider)
    del slider, button
    gc.collect()
    assert gone() is not None  # Panel's registry keeps it alive ...
    sources.forget(None)
    gc.collect()
    assert gone() is None  # ... until the session gives it back
    assert other in Callback.registry
    assert sources.sources == []
