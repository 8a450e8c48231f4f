"""app/upstream_patches.py ("cheaper defaults"): Bokeh's serialization without reading every
unset property's default sends the same document, and reads only the properties it sends."""

import panel as pn
import pytest
from bokeh.core.has_props import HasProps
from bokeh.core.property.bases import Property
from bokeh.core.property.descriptors import PropertyDescriptor
from bokeh.document import Document
from panel.io.state import set_curdoc

from app import upstream_patches as speedups
from app.main import build_page

pytestmark = pytest.mark.skipif(not speedups.speedups_apply(), reason="another Bokeh version")


@pytest.fixture
def bokehs_own():
    """Bokeh's own query for the test, whatever this process had installed."""
    was = speedups.speedups_installed()
    speedups.uninstall_speedups()
    yield
    if was:
        speedups.install_speedups()


def plain(value):
    """A serialized document as plain values: each buffer as its bytes (Bokeh gives every
    serialization's buffers new ids)."""
    from bokeh.core.serialization import Buffer, Serialized

    if isinstance(value, Serialized):
        return plain(value.content)
    if isinstance(value, Buffer):
        return ("buffer", bytes(value.data))
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def page_document(tab):
    doc = Document()
    with set_curdoc(doc):
        page = build_page()
        page.lessons.tabs.active = tab  # builds that lesson
        page.server_doc(doc)
    return doc


@pytest.mark.parametrize("tab", [0, 1, 2, 3])
def test_every_lessons_document_serializes_exactly_as_with_bokehs_own_query(tab, bokehs_own):
    doc = page_document(tab)
    theirs = plain(doc.to_json())
    assert speedups.install_speedups()
    ours = plain(doc.to_json())
    assert ours == theirs
    assert len(ours["roots"]) >= 1


def test_serializing_a_figure_reads_no_default_it_does_not_send(monkeypatch, bokehs_own):
    from bokeh.plotting import figure

    plot = figure(width=300, height=200)
    plot.line([0, 1], [1, 0])
    reads = []
    themed_default = Property.themed_default

    def counted(self, cls, name, overrides, **kwargs):
        reads.append(name)
        return themed_default(self, cls, name, overrides, **kwargs)

    monkeypatch.setattr(Property, "themed_default", counted)
    Document().add_root(plot)
    plot.document.to_json()
    assert len(reads) > 100  # Bokeh's own: every property of every model
    reads.clear()
    speedups.install_speedups()
    plot.document.to_json()
    assert reads == []


def test_install_is_idempotent_and_can_be_switched_off(monkeypatch, bokehs_own):
    assert speedups.install_speedups() and speedups.install_speedups()
    assert HasProps.query_properties_with_values is speedups.query_properties_with_values
    speedups.uninstall_speedups()
    monkeypatch.setenv(speedups.SPEEDUPS_SWITCH, "0")
    assert not speedups.install_speedups()
    assert not speedups.speedups_installed()


def test_the_server_start_up_installs_it(monkeypatch, bokehs_own):
    """`downhill` and the benchmarks' Panel baseline start through app/server.py."""
    import panel as pn

    from app import server

    monkeypatch.setattr(pn, "serve", lambda *args, **kwargs: "server")
    monkeypatch.setattr(server, "enable_nodelay", lambda made: made)
    monkeypatch.setattr(server, "enable_batching", lambda made: made)
    monkeypatch.setattr(server, "skip_document_validation", lambda: None)
    assert server.create_server({}) == "server"
    assert speedups.speedups_installed()


def test_panel_objects_still_render_after_install(bokehs_own):
    speedups.install_speedups()
    doc = Document()
    with set_curdoc(doc):
        pn.Column(pn.pane.HTML("<b>x</b>"), pn.widgets.FloatSlider()).server_doc(doc)
    assert plain(doc.to_json())["roots"]


def test_stable_defaults_are_remembered_per_class_and_themes_still_apply(bokehs_own):
    from bokeh.models import Div, Slider
    from bokeh.themes import Theme

    speedups.install_speedups()
    assert Slider().title == "" and Slider().bar_color == Slider.bar_color.class_default(Slider)
    assert (Slider, "bar_color") in speedups._stable_defaults
    first, second = Slider(), Slider()
    assert first.stylesheets is not second.stylesheets  # lists stay one per model
    themed = Div()
    doc = Document()
    doc.theme = Theme(json={"attrs": {"Div": {"text": "themed"}}})
    doc.add_root(themed)
    assert themed.text == "themed"
    assert Div().text == ""


def test_reading_a_stable_default_twice_computes_it_once(monkeypatch, bokehs_own):
    from bokeh.models import Range1d

    speedups.install_speedups()
    speedups._stable_defaults.pop((Range1d, "bounds"), None)
    computed = []
    instance_default = PropertyDescriptor.instance_default

    def counted(self, obj):
        computed.append(self.name)
        return instance_default(self, obj)

    monkeypatch.setattr(PropertyDescriptor, "instance_default", counted)
    assert Range1d().bounds is None and Range1d().bounds is None
    assert computed.count("bounds") == 1


# ------------------------------------------- no default model made only to be replaced


def same_ids(value, ids=None):
    """A serialized document with its model ids (and Python object ids in tags) renumbered in
    order of appearance, and Panel's numbered names without their numbers: two builds of
    the same page then compare equal whatever models were made (and dropped) in between."""
    import re

    ids = {} if ids is None else ids
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "id" and isinstance(item, str):
                item = ids.setdefault(item, f"#{len(ids)}")
            elif key == "name" and isinstance(item, str) and re.fullmatch(r"\w+?\d{5}", item):
                item = item[:-5]
            out[key] = same_ids(item, ids)
        return out
    if isinstance(value, list):
        return [same_ids(item, ids) for item in value]
    if isinstance(value, str) and value.startswith("__ref:"):
        return "__ref:" + ids.setdefault(value[len("__ref:"):], f"#{len(ids)}")
    if isinstance(value, int) and not isinstance(value, bool) and value > 10**12:
        return "a Python id"
    return value


@pytest.mark.parametrize("tab", [0, 1, 2, 3])
def test_every_lessons_document_is_the_same_without_the_dropped_defaults(tab, bokehs_own):
    theirs = same_ids(plain(page_document(tab).to_json()))
    assert speedups.install_speedups()
    ours = same_ids(plain(page_document(tab).to_json()))
    assert ours == theirs


def test_a_model_given_its_parts_builds_no_default_part_to_drop(monkeypatch, bokehs_own):
    from bokeh.model import Model
    from bokeh.models import AllIndices, CDSView, IndexFilter

    built = []
    model_init = Model.__init__

    def counted(self, *args, **kwargs):
        built.append(type(self).__name__)
        model_init(self, *args, **kwargs)

    monkeypatch.setattr(Model, "__init__", counted)
    given = IndexFilter(indices=[0])
    built.clear()
    CDSView(filter=given)
    assert built == ["CDSView", "AllIndices"]  # Bokeh's own: the default filter, dropped
    speedups.install_speedups()
    built.clear()
    view = CDSView(filter=given)
    assert built == ["CDSView"] and view.filter is given
    assert isinstance(CDSView().filter, AllIndices)  # a part not given still gets its default
    changes = []
    view.on_change("filter", lambda _attr, old, new: changes.append((old, new)))
    later = AllIndices()
    view.filter = later  # after __init__: Bokeh's own path, the old value reported
    assert changes == [(given, later)]
