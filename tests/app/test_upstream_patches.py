"""The private Bokeh and Panel names app/upstream_patches.py relies on are still there, with the
signatures the patches were written against: an upgrade that moves one fails here, by name,
instead of the app quietly falling back to the slower upstream behaviour."""

import inspect
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

from app import upstream_patches as upstream

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("private", upstream.RELIES_ON, ids=lambda p: p.target)
def test_every_private_name_a_patch_uses_is_installed_with_its_signature(private):
    obj = upstream._resolve(private.target)  # AttributeError / ImportError: gone
    if private.signature is not None:
        assert str(inspect.signature(obj)) == private.signature


def test_the_check_names_a_private_name_that_is_gone(monkeypatch):
    moved = upstream.Private("bokeh.server.session:ServerSession._send_patches_renamed",
                             None, "batching")
    monkeypatch.setattr(upstream, "RELIES_ON", (*upstream.RELIES_ON, moved))
    problems = upstream.check_upstream()
    assert len(problems) == 1 and "_send_patches_renamed (batching) is gone" in problems[0]
    assert not upstream.batches_patches()


def test_the_check_names_a_changed_signature(monkeypatch):
    changed = upstream.RELIES_ON[0]._replace(
        target="bokeh.core.serialization:Serializer.get_ref", signature="(self, obj)",
        patch="small arrays inline")
    monkeypatch.setattr(upstream, "RELIES_ON", (changed,))
    (problem,) = upstream.check_upstream()
    assert "changed signature" in problem and "written against (self, obj)" in problem


def test_a_patch_whose_hook_is_gone_is_left_out_with_a_warning(monkeypatch, caplog):
    from panel.io import document as panel_document

    def unpatched(conn):  # as Panel's, before any server in this process patched it
        return False

    monkeypatch.setattr(panel_document, "_is_write_locked", unpatched)
    gone = upstream.Private("panel.io.document:_is_write_locked_renamed", None,
                            "Panel's writes")
    monkeypatch.setattr(upstream, "RELIES_ON", (gone,))
    with caplog.at_level("WARNING", logger="downhill"):
        assert upstream.collect_panel_writes() is False
    assert "leaving out the Panel's writes patch" in caplog.text
    assert panel_document._is_write_locked is unpatched


def test_the_patched_packages_are_pinned_to_the_versions_installed_here():
    """pyproject pins the exact Bokeh and Panel the patches were tested on."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = dict(re.fullmatch(r"(\w+)==([\w.]+)", d.split(";")[0].strip()).groups()
                for d in dependencies if "==" in d)
    assert pins.get("bokeh") == version("bokeh")
    assert pins.get("panel") == version("panel")


def test_a_text_only_pane_sends_only_its_new_text(monkeypatch):
    """Lesson 2's status: a new object changes the Bokeh model's text, escaped as Panel
    escapes it, without recomputing the design's properties (Panel's path for the rest)."""
    import panel as pn
    from bokeh.document import Document
    from panel.theme.base import Design

    pane = upstream.text_only_html()("<b>old</b>", stylesheets=[".x { color: red; }"])
    doc = Document()
    model = pane.get_root(doc)
    reference = pn.pane.HTML("<b>new</b> & <i>more</i>").get_root(Document())
    recomputed = []
    original = Design.params
    monkeypatch.setattr(Design, "params",
                        lambda *a, **k: recomputed.append(1) or original(*a, **k))
    with pn.io.hold(doc):
        pane.object = "<b>new</b> & <i>more</i>"
    assert model.text == reference.text  # the same escaped HTML Panel sends
    assert recomputed == []  # Panel's own update recomputes them on every change
    pane.styles = {"color": "blue"}  # any other property: Panel's own path
    assert model.styles == {"color": "blue"}


def test_inline_arrays_are_stored_gzip_that_gunzip_reads_back():
    """An inline array is a gzip stream of one stored deflate block (no compressor runs):
    gunzip gives the bytes back, empty and largest inline arrays included."""
    import gzip

    import numpy as np

    for data in (b"", np.linspace(-3.0, 7.0, 101).tobytes(), bytes(range(256)) * 64):
        packed = upstream.stored_gzip(data)
        assert gzip.decompress(packed) == data
        assert packed[10] == 1  # BFINAL, BTYPE 00: stored
        assert len(packed) == len(data) + 23
    with pytest.raises(ValueError, match="65535"):
        upstream.stored_gzip(bytes(70_000))


def test_a_float_array_is_encoded_as_bokeh_encodes_it():
    """SmallArraysInline's direct float64 encoding gives Bokeh's NDArrayRep (shape, dtype,
    byte order; a strided column made contiguous; int64 as int32 where it fits, else Bokeh's
    list), only the bytes packed differently; other dtypes keep Bokeh's path."""
    import base64
    import gzip

    import numpy as np
    from bokeh.core.serialization import Serializer
    from bokeh.document import Document

    doc = Document()
    points = np.arange(24, dtype=np.float64).reshape(12, 2) * 0.37
    for array in (points[:, 0], points, np.arange(5), np.arange(12)[::3], np.arange(0),
                  np.array([2**40, -1]), np.array([1.5], dtype=np.float32)):
        ours = upstream.SmallArraysInline(doc.models).encode(array)
        bokeh = Serializer(deferred=False).encode(array)
        assert {k: v for k, v in ours.items() if k != "array"} == \
            {k: v for k, v in bokeh.items() if k != "array"}, array
        if isinstance(bokeh["array"], dict):  # bytes; an int64 beyond int32 goes as a list
            decoded = gzip.decompress(base64.b64decode(ours["array"]["data"]))
            assert decoded == gzip.decompress(base64.b64decode(bokeh["array"]["data"]))
        else:
            assert ours["array"] == bokeh["array"]


def _page_bundle(bundle_resources, roots):
    """What a page gets from `bundle_resources`: the rendered script and link tags and the
    lazy-loading declaration."""
    from bokeh.resources import Resources

    bundle = bundle_resources(roots, Resources(mode="server", root_url="/"))
    return (*bundle, bundle.resource_declarations, bundle.js_modules, bundle.js_module_exports)


def _served_roots(*objects):
    import panel as pn
    from bokeh.document import Document

    doc = Document()
    root = pn.Column(*objects).get_root(doc)
    doc.add_root(root)
    return doc.roots


def test_a_destroyed_document_s_models_are_freed_without_the_collector(monkeypatch):
    """A closed session's models (Bokeh destroys them with its document) go at once by
    reference counting: their cached container defaults no longer hold them in cycles that
    only the cyclic collector frees (and CollectionPolicy keeps it away until a reclaim)."""
    import gc
    import weakref

    from bokeh.document import Document
    from bokeh.model import Model
    from bokeh.plotting import figure

    monkeypatch.setattr(Model, "destroy", Model.destroy)  # the rest of the process: as found
    assert upstream.free_destroyed_models()
    doc = Document()
    plot = figure(name="landscape-figure", tools="tap,reset")
    plot.line([0, 1, 2], [2, 1, 0], name="landscape-path")
    plot.scatter([1], [1])
    doc.add_root(plot)
    models = [weakref.ref(model) for model in doc.models]
    assert len(models) > 10
    del plot
    gc.collect()
    gc.disable()
    try:
        doc.models.destroy()  # what Bokeh's and Panel's Document.destroy do to the models
        del doc
        alive = [type(ref()).__name__ for ref in models if ref() is not None]
    finally:
        gc.enable()
    assert alive == []


@pytest.fixture
def cached_resources():
    from panel.io import resources as panel_resources

    assert upstream.cache_page_resources()
    upstream._resource_bundles.clear()
    yield panel_resources.bundle_resources  # Panel's own, to compare with
    upstream.uncache_page_resources()


def test_cached_resources_are_panels_own_and_the_second_page_is_answered_from_the_cache(
        cached_resources):
    import panel as pn
    from panel.io import server as panel_server

    from app.lecture import Lecture

    def page():
        lecture = Lecture(None)
        return _served_roots(pn.pane.HTML("<b>Downhill</b>"), lecture.toolbar,
                             pn.Tabs(("A", pn.pane.HTML("…")), ("B", pn.pane.HTML("…"))))

    assert panel_server.bundle_resources is upstream.cached_bundle_resources
    first, second = page(), page()
    hits = upstream.resource_bundle_stats["hits"]
    assert _page_bundle(panel_server.bundle_resources, first) == _page_bundle(
        cached_resources, first)
    assert _page_bundle(panel_server.bundle_resources, second) == _page_bundle(
        cached_resources, second)
    assert upstream.resource_bundle_stats["hits"] == hits + 1


def test_cached_resources_follow_what_the_page_holds(cached_resources):
    """A page with a table gets the tables bundle and one with TeX gets MathJax, whatever
    page was answered before; and a caller adding to its bundle changes no other's."""
    import panel as pn
    from bokeh.models import ColumnDataSource, DataTable, Div, TableColumn
    from bokeh.resources import Resources
    from panel.io import server as panel_server

    def table():
        return pn.pane.Bokeh(DataTable(source=ColumnDataSource({"a": [1]}),
                                       columns=[TableColumn(field="a")]))

    pages = {
        "plain": lambda: _served_roots(pn.pane.HTML("<b>x</b>")),
        "table": lambda: _served_roots(pn.pane.HTML("<b>x</b>"), table()),
        "tex": lambda: [Div(text=r"$$\frac{1}{2}$$")],
    }
    seen = {}
    for name in ["plain", "table", "tex", "plain", "table", "tex"]:
        roots = pages[name]()
        got = _page_bundle(panel_server.bundle_resources, roots)
        assert got == _page_bundle(cached_resources, roots)
        seen.setdefault(name, got)
        assert got == seen[name]
    scripts = {name: got[0] for name, got in seen.items()}
    assert "bokeh-tables" in scripts["table"] and "bokeh-tables" not in scripts["plain"]
    assert "bokeh-mathjax" in scripts["tex"] and "bokeh-mathjax" not in scripts["plain"]
    roots = pages["plain"]()
    resources = Resources(mode="server", root_url="/")
    panel_server.bundle_resources(roots, resources).js_raw.append("window.added = 1")
    assert "window.added" not in panel_server.bundle_resources(roots, resources).js_raw
