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
