"""What one browser session must give back when it ends.

Panel keeps every `jscallback` and `jslink` in `panel.links.Callback.registry`, a
WeakKeyDictionary keyed by the source widget whose value (the list of callbacks) holds that
same source: the key never becomes unreachable, so a widget with a JS callback outlives its
session, and through its watchers the whole lesson does (~4 MB per session that opened lesson 3
or 4: EditableFloatSlider links its text box to its slider, lesson 4 adds its own callbacks).
`JsCallbackSources` notes which sources a session's building added and drops their entries
when the session is destroyed; nothing else in the registry is touched.
"""

from __future__ import annotations

from contextlib import contextmanager

from panel.links import Callback


class JsCallbackSources:
    """The sources of the JS callbacks and links one session added to Panel's registry."""

    def __init__(self):
        self.sources = []

    @contextmanager
    def tracking(self):
        """Note the registry's new sources while the block builds this session's widgets (a
        build runs on the server's loop without interruption, so they are this session's)."""
        before = {id(source) for source in list(Callback.registry.keys())}
        try:
            yield self
        finally:
            self.sources += [source for source in list(Callback.registry.keys())
                             if id(source) not in before]

    def forget(self, session_context):
        """Drop this session's entries from the registry (Bokeh calls it with the destroyed
        session's context)."""
        for source in self.sources:
            Callback.registry.pop(source, None)
        self.sources.clear()

    def forget_when_destroyed(self, document):
        """Call `forget` when the session of `document` (a server document) is destroyed."""
        if document is not None and document.session_context is not None:
            document.on_session_destroyed(self.forget)
