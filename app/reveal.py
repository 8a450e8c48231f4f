"""Parts of a lesson built when the student scrolls to them.

Every Bokeh model costs the server about a millisecond of CPU per new page (construction,
Panel's conversion, the document, serialization; benchmarks/RESULTS.md, "Session cost
profile"), and a lecture hall opens hundreds of pages at once. A part of a lesson below or
beside its first screen can therefore wait: `Reveal` stands in its place, a small element
the browser watches with an IntersectionObserver; when it comes near the window (or is in
the window already, e.g. on a wide screen), the browser sets `seen` and the server builds
the part and puts it in the placeholder's place. A student who never scrolls there never
costs its models. Outside a server (a notebook, the tests) a lesson builds everything at
once (`on_server()` says which).

A part put on the page later keeps the stylesheet links it was built with: Panel points its
own stylesheets at this server (instead of its CDN) only when a page is first sent, so a part
holds nothing that links one (a `pn.layout.Divider` does; lesson 1's line under its first
screen is a CSS border). tests/ui/test_derivative.py fails on any request outside the server.
"""

import panel as pn
import param
from panel.reactive import ReactiveHTML

PLACEHOLDER_CSS = """
.downhill-reveal { height: 100%; box-sizing: border-box; padding: 12px 10px;
  font-size: 15px; color: #57606a; }
"""

PREFIX = "reveal-"
"""Every placeholder's name starts with this (see Reveal)."""
MARGIN = "100px"
"""How near the window a placeholder must come to be built: a little before it shows."""


def on_server():
    """True while a Bokeh server session builds this (the page's browser can report back)."""
    doc = pn.state.curdoc
    return doc is not None and doc.session_context is not None


class Reveal(ReactiveHTML):
    """A placeholder that tells the server once it is (nearly) in view: `seen` turns True.

    `Reveal.when_seen(build, name, **layout)` calls `build()` (once) when that happens; the
    caller puts what it builds where the placeholder was. Its `name` starts with
    `reveal-` (a test handle: the placeholder's data model in the page carries it, and
    `seen` is the property a test or benchmark client sets there)."""

    seen = param.Boolean(default=False, doc="The placeholder came near the window")
    label = param.String(default="", doc="What will appear here (shown until it does)")

    _template = """<div id="spot" class="downhill-reveal" aria-busy="true">${label}</div>"""
    _scripts = {
        "render": f"""
if (data.seen) return;
if (!('IntersectionObserver' in window)) {{ data.seen = true; return; }}
state.observer = new IntersectionObserver(entries => {{
  if (entries.some(entry => entry.isIntersecting)) {{
    state.observer.disconnect();
    data.seen = true;
  }}
}}, {{rootMargin: '{MARGIN} 0px'}});
state.observer.observe(spot);
""",
        "remove": "if (state.observer) state.observer.disconnect();",
    }
    _child_config = {"label": "literal"}  # text (escaped), not a Panel component
    _stylesheets = [PLACEHOLDER_CSS]

    @classmethod
    def when_seen(cls, build, name, label="", **layout):
        """A placeholder named `name` that calls `build()` once, the first time it is seen."""
        if not name.startswith(PREFIX):
            raise ValueError(f"a Reveal's name starts with {PREFIX!r}, not {name!r}")
        placeholder = cls(name=name, label=label, **layout)
        built = []

        def seen(event):
            if event.new and not built:
                built.append(True)
                build()

        placeholder.param.watch(seen, "seen")
        return placeholder

