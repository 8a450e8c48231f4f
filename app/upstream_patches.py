"""Every place Downhill patches Bokeh's or Panel's private machinery, and nothing else.

Each patch below starts with a comment block: what the upstream code does, what we do instead,
the gain we measured, and how to drop the patch. `RELIES_ON` lists every private name the
patches touch, with the signature they were written against; `check_upstream()` compares it
with the installed packages and tests/app/test_upstream_patches.py fails, naming the name,
when a Bokeh or Panel upgrade moves one. pyproject.toml pins the exact versions they were
tested on (bokeh 3.10.2, panel 1.10.0). At run time a missing hook is logged as a warning and
that patch is left out (the app still works, only slower): never silently.

To drop a patch when upstream fixes the behaviour: delete its block here and its entries in
`RELIES_ON`, remove its call in app/server.py `create_server` (or its caller), and delete or
rewrite the tests that assert its effect (named in each block).
"""

from __future__ import annotations

import base64
import inspect
import itertools
import logging
import os
import struct
import sys
import zlib
from importlib import import_module
from typing import NamedTuple

import numpy as np
from bokeh.core.has_props import HasProps
from bokeh.core.property.descriptors import PropertyDescriptor
from bokeh.core.property.wrappers import PropertyValueContainer
from bokeh.core.serialization import BytesRep, NDArrayRep, Serializer
from bokeh.model import Model
from bokeh.protocol.messages.patch_doc import PatchJson
from bokeh.server.contexts import ApplicationContext
from bokeh.server.session import ServerSession
from tornado.websocket import WebSocketHandler

log = logging.getLogger("downhill")


class Private(NamedTuple):
    """A private name a patch relies on: `module:attribute.path`, and the signature of the
    callable there as `inspect.signature` prints it (None for a plain attribute)."""

    target: str
    signature: str | None
    patch: str  # which patch below uses it


RELIES_ON = (
    Private("bokeh.server.server:BaseServer#_tornado", None, "TCP_NODELAY"),
    Private("tornado.web:Application#wildcard_router", None, "TCP_NODELAY"),
    Private("bokeh.server.tornado:BokehTornado#_applications", None, "batching"),
    Private("bokeh.server.session:ServerSession._send_pending_patches",
            "(self, pending: 'list[_PendingPatch]') -> 'None'", "batching"),
    Private("bokeh.server.session:ServerSession#_pending_writes", None, "Panel's writes"),
    Private("bokeh.server.contexts:ApplicationContext._create_session",
            "(self, session_id: 'ID', request: 'RequestLike | None' = None, "
            "token: 'str | None' = None) -> 'ServerSession'", "batching"),
    Private("bokeh.core.serialization:Serializer._encode_bytes",
            "(self, obj: 'bytes | memoryview') -> 'BytesRep'", "small arrays inline"),
    Private("bokeh.core.serialization:Serializer._encode_ndarray",
            "(self, obj: 'npt.NDArray[Any]') -> 'NDArrayRep'", "small arrays inline"),
    Private("bokeh.core.serialization:Serializer.get_ref",
            "(self, obj: 'Any') -> 'Ref | None'", "small arrays inline"),
    Private("bokeh.core.serialization:Serializer.has_ref",
            "(self, obj: 'Any') -> 'bool'", "small arrays inline"),
    Private("bokeh.core.serialization:Serializer()._references", None, "small arrays inline"),
    Private("bokeh.document:Document().models._new_models", None, "small arrays inline"),
    Private("bokeh.document.models:DocumentModelManager.flush_synced",
            "(self, is_still_new: 'Callable[[Model], bool] | None' = None) -> 'None'",
            "small arrays inline"),
    Private("bokeh.protocol:Protocol()._messages", None, "small arrays inline"),
    Private("panel.io.document:_is_write_locked", "(conn: 'ServerConnection') -> 'bool'",
            "Panel's writes"),
    Private("panel.widgets:FloatSlider()._debounce", None, "no debounce on drags"),
    Private("panel.layout:Tabs()._models", None, "stylesheets of late lessons"),
    Private("bokeh.document:Document()._template_variables", None,
            "stylesheets of late lessons"),
    Private("panel.pane.markup:HTMLBasePane._update",
            "(self, ref: 'str', model: 'Model') -> 'None'", "text-only pane updates"),
    Private("panel.pane.markup:HTML._transform_object",
            "(self, obj: 't.Any') -> 'dict[str, t.Any]'", "text-only pane updates"),
    Private("panel.io.document:_garbage_collect", "()", "Panel's gc.collect"),
    Private("bokeh.model:Model.destroy", "(self) -> 'None'", "destroyed models let go"),
    Private("bokeh.core.has_props:HasProps#_unstable_default_values", None,
            "destroyed models let go"),
    Private("bokeh.core.has_props:HasProps#_unstable_themed_values", None,
            "destroyed models let go"),
    Private("panel.io.resources:patch_model_css",
            "(root: 'Model', dist_url: 'str')", "stylesheets of late lessons"),
    Private("bokeh.core.has_props:HasProps.query_properties_with_values",
            "(self, query: 'Callable[[PropertyDescriptor[Any]], bool]', *, "
            "include_defaults: 'bool' = True, include_undefined: 'bool' = False) "
            "-> 'dict[str, Any]'", "cheaper defaults"),
    Private("bokeh.core.property.descriptors:PropertyDescriptor._get_default",
            "(self, obj: 'HasProps') -> 'T'", "cheaper defaults"),
    Private("panel.io.server:bundle_resources",
            "(roots, resources: 'BkResources', notebook: 'bool' = False, reloading: 'bool' = "
            "False, enable_mathjax: \"bool | t.Literal['auto']\" = 'auto')",
            "resources per process"),
    Private("bokeh.embed.bundle:_model_requires_mathjax", "(model: 'HasProps') -> 'bool'",
            "resources per process"),
    Private("bokeh.document.models:DocumentModelManager#_freeze_count", None,
            "resources per process"),
    Private("panel.io.resources:RESOURCE_MODE", None, "resources per process"),
    Private("panel.config:panel_extension._loaded_extensions", None, "resources per process"),
    Private("panel.reactive:ReactiveMetaBase._loaded_extensions", None,
            "resources per process"),
    Private("panel.io.state:state._extensions_", None, "resources per process"),
    Private("bokeh.core.property.descriptors:PropertyDescriptor.__set__",
            "(self, obj: 'HasProps', value: 'T', *, setter: 'Setter | None' = None) -> 'None'",
            "cheaper defaults"),
    Private("bokeh.core.property.descriptors:PropertyDescriptor._set",
            "(self, obj: 'HasProps', old: 'Any', value: 'Any', *, "
            "hint: 'DocumentPatchedEvent | None' = None, setter: 'Setter | None' = None) "
            "-> 'None'", "cheaper defaults"),
    Private("bokeh.core.has_props:HasProps._initialized", None, "cheaper defaults"),
)


def _resolve(target):
    """The object `module:Name.attr` names. `Name()` in the path stands for an instance (for
    attributes set in __init__); a last part `#attr` is an attribute that the class's __init__
    assigns (`self.attr = ...`), for classes too costly to instantiate here. Raises
    AttributeError or ImportError when the name is gone."""
    module_name, _, path = target.partition(":")
    obj = import_module(module_name)
    path, _, assigned = path.partition("#")
    for part in path.split("."):
        obj = getattr(obj, part[:-2])() if part.endswith("()") else getattr(obj, part)
    if assigned:
        if f"self.{assigned} =" not in inspect.getsource(obj.__init__):
            raise AttributeError(f"{obj.__name__}.__init__ no longer sets {assigned}")
    return obj


def check_upstream(*patches):
    """What no longer matches in the installed Bokeh and Panel: a list of readable problems
    (empty when every private name in RELIES_ON is there with its recorded signature), for
    the named patches only when some are named (so a pure-Bokeh server never imports Panel)."""
    problems = []
    for private in RELIES_ON:
        if patches and private.patch not in patches:
            continue
        try:
            obj = _resolve(private.target)
        except (AttributeError, ImportError) as error:
            problems.append(f"{private.target} ({private.patch}) is gone: {error}")
            continue
        if private.signature is not None:
            found = str(inspect.signature(obj))
            if found != private.signature:
                problems.append(f"{private.target} ({private.patch}) changed signature: "
                                f"{found}, written against {private.signature}")
    return problems


def _missing(patch):
    """Log (never silently skip) that `patch` cannot be applied to the installed packages."""
    problems = check_upstream(patch)
    if problems:
        log.warning("downhill: leaving out the %s patch, the installed Bokeh/Panel changed: %s",
                    patch, "; ".join(problems))
    return bool(problems)


# ------------------------------------------------------------------------------ TCP_NODELAY
# Upstream: neither Bokeh nor Panel sets TCP_NODELAY; tornado turns Nagle back on at the end of
# every HTTP response on a kept-alive stream, the websocket upgrade's 101 included. A reply of a
# few small frames then waits for the client's delayed ACK (Linux: up to 40 ms).
# Ours: the websocket handler in the server's routing rules becomes a subclass that sets
# TCP_NODELAY when the socket opens. Gain: replies ~4 ms instead of jumping between ~4 and
# ~45 ms. Guarded by tests/app/test_server.py::test_tcp_nodelay_is_set_on_a_live_websocket.

def nodelay_handler(handler_class):
    """A subclass of the websocket handler `handler_class` that turns Nagle's algorithm off
    when the websocket opens.

    Setting it when the connection is accepted is not enough: tornado turns Nagle back on at
    the end of every HTTP response on a kept-alive stream, the upgrade's 101 included.
    """
    if getattr(handler_class, "downhill_nodelay", False):
        return handler_class

    class NoDelayWebSocketHandler(handler_class):
        downhill_nodelay = True

        def open(self, *args, **kwargs):
            self.set_nodelay(True)
            return super().open(*args, **kwargs)

    NoDelayWebSocketHandler.__name__ = f"NoDelay{handler_class.__name__}"
    return NoDelayWebSocketHandler


def enable_nodelay(server):
    """Set TCP_NODELAY on every websocket `server` (a Bokeh/Panel Server) opens from now on,
    by replacing the websocket handler class in the server's routing rules."""
    replaced = 0
    for rule in server._tornado.wildcard_router.rules:
        if isinstance(rule.target, type) and issubclass(rule.target, WebSocketHandler):
            rule.target = nodelay_handler(rule.target)
            replaced += 1
    if not replaced:
        raise RuntimeError("the server has no websocket route to set TCP_NODELAY on")
    return server


# ------------------------------------------------------------------- one message per callback
# Upstream: Bokeh's ServerSession sends every change a callback makes as a PATCH-DOC message of
# its own, each serialized in a worker thread (a tap on lesson 2: 9 messages in 51 websocket
# frames), and the browser may paint between them.
# Ours: `BatchedServerSession._send_pending_patches` sends one message per run of changes for
# the same connections (a tap: 1 message in 3 frames; browser tap -> path p50 ~42 -> ~31 ms).
# Guarded by test_server.py::test_a_tap_on_the_landscape_arrives_as_one_message.

def serialize_batches(pending):
    """One PATCH-DOC message for each run of consecutive changes bound for the same
    connections: [(message, connections)], in order. `pending` is what a Bokeh session
    collected while a callback held its document lock (objects with event, protocol and
    connections)."""
    from bokeh.io.doc import patch_curdoc

    messages = []
    for (protocol, connections), run in itertools.groupby(
        pending, key=lambda patch: (patch.protocol, patch.connections)
    ):
        events = [patch.event for patch in run]
        with patch_curdoc(events[0].document):
            message = patch_message(protocol, events)
            message.prepare()
        messages.append((message, connections))
    return messages


# ---------------------------------------------------------------------- small arrays inline
# Upstream: Bokeh sends every array as a binary buffer (two websocket frames each) and builds a
# reference for every model of the document before serializing a patch (~440 on lesson 2).
# Ours: `SmallArraysInline` puts arrays <= INLINE_BYTES in the JSON and looks references up
# when met. Gain: a lesson-2 η message serializes in 0.7-1.0 ms instead of 2.1 ms; a tap's 24
# buffer frames of 30 are gone. Guarded by test_server.py::test_small_arrays_travel_inside_*
# and ::test_a_patch_sends_models_the_browser_has_as_references_and_new_ones_whole.
# Second cut (issue 14, the hall's CPU per tap): an inline array is a gzip stream of one
# *stored* (uncompressed) deflate block, written here, instead of `gzip.compress` at level 1:
# zlib sets up ~270 kB of compressor state per call (py-spy: ~10 % of a lesson-2 tap's server
# CPU, a tap sends ~12 arrays), and floats do not compress anyway (808 -> 831 bytes at level 1,
# 831 stored). A float64 array skips Bokeh's generic `transform_array` (datetime and int64
# checks that cannot apply to floats; another ~4 %): the same NDArrayRep, built directly;
# an int64 array (a step column) is cast to int32 as Bokeh does, without its generic checks.
# Guarded by test_upstream_patches.py::test_inline_arrays_are_stored_gzip_* and
# ::test_a_float_array_is_encoded_as_bokeh_encodes_it.

INLINE_BYTES = 16 * 1024  # arrays up to this size travel inside the message's JSON
_GZIP_HEADER = b"\x1f\x8b\x08\x00" + struct.pack("<L", 1) + b"\x00\xff"  # mtime 1, as Bokeh


def stored_gzip(data):
    """`data` (at most 65,535 bytes) as a gzip stream holding one stored deflate block: what
    `gzip.decompress` and BokehJS's gunzip read back, without running a compressor."""
    size = len(data)
    if size > 0xFFFF:
        raise ValueError(f"a stored deflate block holds at most 65535 bytes, got {size}")
    return b"".join((_GZIP_HEADER, struct.pack("<BHH", 1, size, size ^ 0xFFFF), data,
                     struct.pack("<LL", zlib.crc32(data), size)))


_FLOAT64, _INT64 = np.dtype(np.float64), np.dtype(np.int64)
_INT32 = np.iinfo(np.int32)


class SmallArraysInline(Serializer):
    """Bokeh's serializer for one document's changes, with two differences.

    An array of at most INLINE_BYTES goes inside the JSON (base64) instead of as a binary
    buffer of its own. Each buffer costs two websocket frames, and the browser handles every
    frame as a task of its own, so it may paint between them: a tap's twelve small arrays were
    24 of its 30 frames. Big arrays (a landscape's image) stay binary: base64 is a third larger.

    A model the browser already has is sent as a reference, as in Bokeh, but looked up when met
    rather than by building a reference for every model of the document first (Bokeh's
    `references=doc.models.synced_references`: ~440 models on a lesson-2 page). Together:
    a lesson-2 η message serializes in 0.7-1.0 ms instead of 2.1 ms.
    """

    def __init__(self, models):
        super().__init__()
        self._models = models  # the document's DocumentModelManager

    def _synced(self, obj):
        return (isinstance(obj, Model) and self._models.get_by_id(obj.id) is obj
                and obj not in self._models._new_models)

    def has_ref(self, obj):
        return id(obj) in self._references or self._synced(obj)

    def get_ref(self, obj):
        ref = self._references.get(id(obj))
        if ref is None and self._synced(obj):
            return obj.ref
        return ref

    def _encode_ndarray(self, obj):
        if type(obj) is not np.ndarray or obj.dtype not in (_FLOAT64, _INT64):
            return super()._encode_ndarray(obj)
        # Bokeh's transform_array: a float64 array as it is, an int64 array as int32 when
        # every value fits (BokehJS has no int64); either made C-contiguous
        array = obj
        if obj.dtype == _INT64 and (obj.size == 0 or (_INT32.min <= obj.min()
                                                      and obj.max() <= _INT32.max)):
            array = obj.astype(np.int32)
        elif obj.dtype == _INT64:
            return super()._encode_ndarray(obj)
        if not array.flags["C_CONTIGUOUS"]:
            array = np.ascontiguousarray(array)
        return NDArrayRep(type="ndarray", array=self._encode_bytes(array.data),
                          shape=list(array.shape), dtype=array.dtype.name, order=sys.byteorder)

    def _encode_bytes(self, obj):
        if memoryview(obj).nbytes <= INLINE_BYTES:
            data = obj.tobytes() if isinstance(obj, memoryview) else bytes(obj)
            # BokehJS gunzips inline bytes (see stored_gzip); Bokeh's Buffer would also make an
            # id and read its compression setting for every array.
            return BytesRep(type="bytes", data=base64.b64encode(stored_gzip(data)).decode("ascii"))
        return super()._encode_bytes(obj)


def patch_message(protocol, events):
    """A PATCH-DOC message of `events` (one document's): as Bokeh's PatchDoc.create, with
    small arrays inline (SmallArraysInline)."""
    doc = events[0].document
    serializer = SmallArraysInline(doc.models)
    content = PatchJson(events=serializer.encode(events))
    doc.models.flush_synced(lambda model: not serializer.has_ref(model))
    message_class = protocol._messages["PATCH-DOC"]
    message = message_class(message_class.create_header(), {}, content)
    message.add_buffers(*serializer.buffers)
    return message


class BatchedServerSession(ServerSession):
    """A Bokeh session that sends everything one callback changed as one PATCH-DOC message
    (Bokeh: one message per change). The browser applies the message's events together,
    so a tap repaints the page once, not once per changed model."""

    async def _send_pending_patches(self, pending):
        for message, connections in serialize_batches(pending):
            for connection in connections:
                await connection.send_message(message)


class BatchingApplicationContext(ApplicationContext):
    """Bokeh's application context, making `BatchedServerSession`s."""

    async def _create_session(self, *args, **kwargs):
        session = await super()._create_session(*args, **kwargs)
        if type(session) is ServerSession:  # same object, our subclass's method
            session.__class__ = BatchedServerSession
        return session


def batches_patches():
    """Whether the installed Bokeh has every hook BatchedServerSession and SmallArraysInline
    rely on (RELIES_ON; tests/app/test_upstream_patches.py checks them by name)."""
    return not check_upstream("batching", "small arrays inline")


def enable_batching(server):
    """Make every session `server` creates from now on a `BatchedServerSession`."""
    if _missing("batching") or _missing("small arrays inline"):
        return server  # Bokeh's own one-message-per-change sending, logged
    for context in server._tornado._applications.values():
        if type(context) is ApplicationContext:
            context.__class__ = BatchingApplicationContext
    return server


# -------------------------------------------------------------------------- Panel's writes
# Upstream: Panel writes the changes a widget callback makes to Panel objects straight to the
# socket, a message per `unlocked()` block, when the socket is free (an η change: 3-4 messages).
# Ours: Panel is told the socket is busy while Bokeh collects a callback's changes, so it leaves
# them to Bokeh (its own fallback path) and they join the one message. Gain: 25.9 -> 20 ms
# server CPU per η change, reply 25.8 -> 20.8 ms. Guarded by
# test_server.py::test_a_learning_rate_change_arrives_as_one_message.

def collect_panel_writes():
    """Let Panel's changes join the callback's one message.

    Panel writes the changes a widget callback makes to Panel objects (an HTML pane's text, a
    widget's value) straight to the websocket, a message per `unlocked()` block, whenever it
    runs on the server's loop and the socket is free; an η change on lesson 2 went out as four
    messages, each serialized against every model of the document. When the socket is busy,
    Panel instead leaves its events to Bokeh, which sends them with the callback's own
    changes. We tell Panel the socket is busy whenever Bokeh is collecting a callback's
    changes (the session's pending writes exist), so everything goes out as the one message
    `BatchedServerSession` sends. Returns whether Panel has the hook (a private function)."""
    from panel.io import document as panel_document

    is_write_locked = getattr(panel_document, "_is_write_locked", None)
    if getattr(is_write_locked, "collects", False):
        return True
    if is_write_locked is None or _missing("Panel's writes"):
        return False

    def write_locked(connection):
        session = getattr(connection, "session", None)
        return (getattr(session, "_pending_writes", None) is not None
                or is_write_locked(connection))

    write_locked.collects = True
    write_locked.__wrapped__ = is_write_locked  # check_upstream reads Panel's own signature
    panel_document._is_write_locked = write_locked
    return True


# ------------------------------------------------------------ stylesheets of late lessons
# Upstream: Panel rewrites its components' CDN stylesheet links to the server's own copies when
# it renders a page (and for most components added later), but not for every kind: a Divider
# in a lesson added after the page was served still asked the CDN for divider.css, which an
# offline lecture hall does not reach. Ours: the lesson's models get the server's links, as
# Panel's own render does (panel.io.resources.patch_model_css). Guarded by
# tests/app/test_lazy_tabs.py (no stylesheet from the CDN after document_ready).

def serve_stylesheets_locally(tabs, index):
    """Point the stylesheets of tab `index` of the Panel Tabs `tabs`, built after the page was
    served, at this server (for each document the tabs are shown in)."""
    from panel.io.resources import patch_model_css

    for model, _parent in list(tabs._models.values()):
        doc = model.document
        dist_url = doc._template_variables.get("dist_url") if doc is not None else None
        if dist_url and index < len(model.tabs):
            patch_model_css(model.tabs[index].child, dist_url=dist_url)


# ------------------------------------------------------------------ text-only pane updates
# Upstream: when an HTML pane's object changes, Panel (`HTMLBasePane._update`) recomputes all
# of the pane's Bokeh properties, its design's parameters included: the theme's modifiers
# and stylesheet paths, resolved on the file system (param's Filename) on every update.
# Lesson 2's status line changes on every tap, step and η change: py-spy on a server with 100
# students tapping showed the design's recomputation among the largest parts of a tap; timed
# in-process, one status update costs 0.58 ms of CPU with Panel's path and 0.06 ms with ours
# (of a tap's ~8-10 ms: within the hall benchmark's run-to-run noise, 7.8-11.3 ms).
# Ours: `TextOnlyHTML` sends only the new text when the object changes (the text Panel would
# send, escaped by its own `_transform_object`); every other property keeps Panel's path.
# Guarded by tests/app/test_upstream_patches.py::test_a_text_only_pane_*.

def text_only_html():
    """`pn.pane.HTML` whose object changes send the text alone (see above); built on first
    use so that importing this module does not import Panel (the pure-Bokeh baseline)."""
    global _TEXT_ONLY_HTML
    if _TEXT_ONLY_HTML is None:
        import panel as pn

        applies = not _missing("text-only pane updates")

        class TextOnlyHTML(pn.pane.HTML):
            def _update(self, ref, model):
                if self.enable_streaming or not applies:
                    return super()._update(ref, model)
                model.update(text=self._transform_object(self.object)["object"])

        _TEXT_ONLY_HTML = TextOnlyHTML
    return _TEXT_ONLY_HTML


_TEXT_ONLY_HTML = None


# ------------------------------------------------------------------ resources per process
# Upstream: for every page it serves, Panel's `bundle_resources` works out which JavaScript and
# CSS the page needs: it walks every registered model class for its files, builds the lazy-
# loading declaration of every component class with resources (`declared_specs`, rebuilt from
# scratch on each call) and walks the page's models for tables and MathJax. py-spy over 40 new
# app pages: ~10 % of the app's server CPU (~13 ms per page, the same in the no-op Panel
# baseline). The answer is the same for every page of a process unless what it depends on
# changes. Ours: `cached_bundle_resources` keeps the answer per process, keyed on everything it
# reads: the classes of the page's models (which decide the tables bundle and, for the roots
# with their text, MathJax; Panel walks the models for them, we read the document's index of
# them), the resources (mode, root URL, components, versions), Panel's settings that
# add files (config), the request's path prefix (`state.rel_path`, `base_url`), the extensions
# loaded (process and session) and the number of registered model classes (a new component
# class registers one). Pages with local files in `config.css_files`/`js_files` (read from
# disk) take Panel's path. Each call gets a fresh Bundle (callers may add to it). Guarded by
# test_upstream_patches.py::test_cached_resources_*; tests/ui/*: no request outside the server.

RESOURCE_BUNDLES_MAX = 64  # distinct keys kept per process (a server has one or two)
_panel_bundle_resources = None  # Panel's own, once the patch is in
_resource_bundles = {}  # key -> the Bundle's fields
resource_bundle_stats = {"hits": 0, "misses": 0}


def _resources_key(resources):
    if resources is None:
        return None
    return (type(resources), resources.mode, getattr(resources, "root_url", None),
            getattr(resources, "absolute", None), getattr(resources, "notebook", None),
            resources.minified, resources.dev, resources.version, resources.log_level,
            tuple(resources.components), resources.base_dir, resources.root_dir,
            resources.path_versioner)


def _model_types(roots):
    """The classes of every model reachable from `roots`: from their document's index when
    they are its roots and it is up to date (no walk), else by walking their references."""
    roots = list(roots)
    doc = roots[0].document if roots else None
    if (doc is not None and doc.models._freeze_count == 0
            and {id(root) for root in roots} == {id(root) for root in doc.roots}):
        return frozenset(type(model) for model in doc.models)
    return frozenset(type(model) for root in roots for model in root.references())


def _bundle_key(roots, resources, notebook, reloading, enable_mathjax):
    """What Panel's bundle_resources reads, as a hashable key; None: do not cache."""
    from bokeh.embed.bundle import _model_requires_mathjax
    from bokeh.model import Model
    from panel.config import config, panel_extension
    from panel.io.state import state
    from panel.reactive import ReactiveMetaBase

    if config.css_files or config.js_files:  # local files are read from disk on each call
        return None
    if roots is None:
        page = None
    else:
        page = (_model_types(roots), tuple(type(root) for root in roots),
                tuple(_model_requires_mathjax(root) for root in roots))
    extensions = state._extensions
    settings = (config.raw_css, config.global_css, config.js_modules, config.design,
                config.notifications, config.global_loading_spinner, config.loading_spinner,
                config.loading_color, config.loading_max_height, config.npm_cdn,
                config.lazy_resources, config.inline)
    try:
        return (page, bool(notebook), bool(reloading), enable_mathjax,
                _resources_key(resources), state.rel_path, state.base_url,
                None if extensions is None else tuple(sorted(extensions)),
                tuple(sorted(panel_extension._loaded_extensions)),
                tuple(sorted(ReactiveMetaBase._loaded_extensions)),
                len(Model.model_class_reverse_map), repr(settings))
    except TypeError:  # something unhashable: take Panel's path
        return None


def cached_bundle_resources(roots, resources, notebook=False, reloading=False,
                            enable_mathjax="auto"):
    """Panel's `bundle_resources`, answered from a per-process cache when nothing it reads
    has changed since the same question was last asked (see above)."""
    import copy

    from panel.io import resources as panel_resources

    key = _bundle_key(roots, resources, notebook, reloading, enable_mathjax)
    fields = _resource_bundles.get(key) if key is not None else None
    if fields is None:
        bundle = _panel_bundle_resources(roots, resources, notebook=notebook,
                                         reloading=reloading, enable_mathjax=enable_mathjax)
        resource_bundle_stats["misses"] += 1
        if key is None:
            return bundle
        fields = dict(js_files=bundle.js_files, js_raw=bundle.js_raw,
                      css_files=bundle.css_files, css_raw=bundle.css_raw, hashes=bundle.hashes,
                      js_modules=bundle.js_modules,
                      js_module_exports=bundle.js_module_exports,
                      resource_declarations=bundle.resource_declarations,
                      notebook=bundle.notebook, mode=panel_resources.RESOURCE_MODE)
        if len(_resource_bundles) >= RESOURCE_BUNDLES_MAX:
            _resource_bundles.clear()
        _resource_bundles[key] = copy.deepcopy(fields)
    else:
        resource_bundle_stats["hits"] += 1
        panel_resources.RESOURCE_MODE = fields["mode"]  # Panel's call sets it too
    fields = copy.deepcopy(fields)
    fields.pop("mode")
    return panel_resources.Bundle(**fields)


def cache_page_resources():
    """Answer the resources of the pages this process serves from `cached_bundle_resources`
    (idempotent). Returns whether it is in use."""
    global _panel_bundle_resources
    from panel.io import server as panel_server

    if panel_server.bundle_resources is cached_bundle_resources:
        return True
    if _missing("resources per process"):
        return False
    _panel_bundle_resources = panel_server.bundle_resources
    cached_bundle_resources.__wrapped__ = _panel_bundle_resources
    panel_server.bundle_resources = cached_bundle_resources
    return True


def uncache_page_resources():
    from panel.io import server as panel_server

    if panel_server.bundle_resources is cached_bundle_resources:
        panel_server.bundle_resources = _panel_bundle_resources
    _resource_bundles.clear()


# ------------------------------------------------------------------ Panel's gc.collect
# Upstream: 5 s after sessions close, Panel runs a full garbage collection
# (`panel.io.document._garbage_collect`, debounced): on a process with 150-200 open sessions a
# pause of 1.2-1.8 s for every student on it. Ours: app/server.py's CollectionPolicy decides
# when closed sessions' memory is reclaimed and replaces Panel's collection with a no-op
# (only in a process that `serve` runs). Guarded by
# test_upstream_patches.py::test_panels_collection_after_closed_sessions_can_be_replaced.

def replace_panel_collection(collect):
    """Have Panel call `collect()` where it would run gc.collect() after sessions closed.
    Returns whether Panel has the hook."""
    from panel.io import document as panel_document

    if _missing("Panel's gc.collect"):
        return False
    if not hasattr(collect, "__wrapped__"):
        collect.__wrapped__ = getattr(panel_document._garbage_collect, "__wrapped__",
                                      panel_document._garbage_collect)
    panel_document._garbage_collect = collect
    return True


# ------------------------------------------------------------- destroyed models let go
# Upstream: when a session ends, Bokeh destroys its document's models (`Model.destroy`: the
# document and the property values are dropped) but keeps each model's cached defaults of
# container type (`_unstable_default_values`: the lists, dicts and sets Bokeh makes anew per
# model, each a PropertyValueContainer whose `_owners` set holds the model again). Every model
# that ever read such a default stays in a reference cycle that only Python's cyclic collector
# frees, and the CollectionPolicy (app/server.py) keeps the collector away from them until a
# reclaim. Ours: a destroyed model also drops its cached defaults and themed values (Bokeh
# would make them anew if the dead model were read again, as it does for the property values
# it already drops). Measured on a server (lesson 2 opened, one tap; /work/notes/
# reclaim_measure.py): of a closed session's ~21,000 collector-tracked objects, reference
# counting frees 12 % at once upstream, 56 % with this (and 47 % of its pymalloc blocks, was
# 10 %); the rest waits for the reclaim. Guarded by
# test_upstream_patches.py::test_a_destroyed_document_s_models_are_freed_without_the_collector.
# To drop: delete this block, its RELIES_ON entries and the free_destroyed_models() call in
# app/server.py `create_server`.

_bokeh_destroy = Model.destroy


def _destroy_and_let_go(self):
    """Model.destroy, then drop the cached defaults whose containers point back at the model."""
    _bokeh_destroy(self)
    self._unstable_default_values.clear()
    self._unstable_themed_values.clear()


_destroy_and_let_go.__wrapped__ = _bokeh_destroy


def free_destroyed_models():
    """Have destroyed models (a closed session's) drop their cached defaults too, so reference
    counting frees them without the cyclic collector (idempotent). Returns whether it is in
    use."""
    if _missing("destroyed models let go"):
        return False
    Model.destroy = _destroy_and_let_go
    return True


# --------------------------------------------------------------------- document validation
# Upstream: Bokeh validates every new session's document (a walk over every model) only to log
# developer warnings: ~35 ms of CPU per new page. Ours: off unless BOKEH_VALIDATE_DOC is set
# (a public Bokeh setting, no private name); test_server.py validates every lesson instead.

def skip_document_validation():
    """Bokeh validates every new session's document (a walk over every model and its checks:
    ~35 ms of CPU per new page here) only to log developer warnings. The server skips it
    unless BOKEH_VALIDATE_DOC is set; tests/app/test_server.py validates every lesson's
    document instead, once, where a warning fails the build."""
    import os

    from bokeh.settings import settings

    if "BOKEH_VALIDATE_DOC" not in os.environ:
        settings.perform_document_validation.set_value(False)


# -------------------------------------------------------------------- no debounce on drags
# Upstream: Panel holds every browser->server widget change for the widget's private
# `_debounce` ms (50) before running its callbacks, so a dragged slider answered ~55 ms late
# (a pure Bokeh slider: ~9 ms). Ours: 0 for the sliders a lecturer drags (app/controls.py says
# which and why). Guarded by tests/app/test_controls_debounce.py.

def set_debounce(widget, milliseconds):
    """Run `widget`'s callbacks `milliseconds` after a browser change (Panel: 50)."""
    if not hasattr(widget, "_debounce"):
        _missing("no debounce on drags")
        return widget
    widget._debounce = milliseconds
    return widget


# ------------------------------------------------------------------------ cheaper defaults
# Cheaper paths through Bokeh's property defaults and serialization (server start-up).
#
# Bokeh serializes a model (`HasProps.to_serializable`, for a new page's document and for every
# patch that brings new models) with `properties_with_values(include_defaults=False)`, which
# calls `query_properties_with_values`. That function reads the value of EVERY property of the
# model, then throws away those that were never set (its own comment: "TODO: this should
# happen before get_value()"). Reading an unset property computes its default: the theme
# lookup, a copy and a full validation of the default value, for the ~50–120 properties of a
# plot, a layout or a widget. On lesson 1's page that was ~80 % of the serialization:
# `doc.to_json()` took ~80 ms, ~14 ms with the keys chosen first. The document sent is the
# same, byte for byte (tests/app/test_speedups.py compares every lesson's).
#
# `install_speedups()` replaces the function with one that picks the keys first and reads only their
# values, for the one call that matters (include_defaults=False, include_undefined=False);
# every other call goes to Bokeh's own. The only behaviour given up: Bokeh's version raises
# UnsetValueError while serializing a model whose *required* property was never set even
# though that property would not be sent; ours sends the model without it (BokehJS then
# reports it).
#
# It also remembers stable defaults. Every read of a property that was never set computes its
# default anew (`PropertyDescriptor._get_default`: theme lookup, copy, validation), and Bokeh
# and Panel read many: each walk over a document's references reads every unset reference
# property of every model (Panel's Bokeh pane walks each figure, the document walks all its
# models when one is added, ...). A default that is the same immutable value for every
# instance of a class (None, a number, a string, a tuple of those; not a list, a dict or a
# model, which Bokeh makes anew per instance) is computed once per class and property.
# Models with theme values (`__themed_values__`) always take Bokeh's own path. On lesson 1
# (build, Panel's models, document, serialization) ~13 % less CPU in-process.
#
# And it makes no default only to throw it away. `PropertyDescriptor.__set__` reads the old
# value first (to compare, and for the change event). In a model's `__init__` every keyword
# argument is set that way, so for each one passed the property's default is computed, and
# when that default is a new model (an `InstanceDefault`: a plot's toolbar, title, ranges and
# scales, a renderer's view, a source's selection, an axis's ticker ...), Bokeh builds it, with
# its own defaults, and drops it a moment later. Lesson 1's curve figure (48 models) built 84
# to keep 48. Ours: while a model is being initialised, a property not yet set whose default is
# an `InstanceDefault` (and no theme value) is set without computing that default. Nothing can
# tell: a fresh model never equals the value passed (models compare by identity), so Bokeh
# would have set it too, and a model in construction has no document and no callbacks to see
# the old value. On lesson 1's first screen (build, Panel's models, document, serialization)
# ~14 % less CPU in-process (tests/app/test_speedups.py: the same documents, fewer models).
#
# Installed only on the Bokeh version it was checked against.
# To drop: delete this block, its RELIES_ON entries and the install_speedups() call in
# app/server.py; tests/app/test_speedups.py goes with it.

SPEEDUPS_SWITCH = "DOWNHILL_SPEEDUPS"  # "0": keep Bokeh's own (to compare, benchmarks/README.md)

_bokeh_query = HasProps.query_properties_with_values
_bokeh_get_default = PropertyDescriptor._get_default
_IMMUTABLE = (type(None), bool, int, float, str)
_stable_defaults = {}  # (model class, property name) -> its stable, immutable default
_UNKNOWN, _NOT_STABLE = object(), object()


def query_properties_with_values(self, query, *, include_defaults=True,
                                 include_undefined=False):
    """HasProps.query_properties_with_values, reading only the properties it returns when
    defaults are left out (see the module's docstring)."""
    if include_defaults or include_undefined:
        return _bokeh_query(self, query, include_defaults=include_defaults,
                            include_undefined=include_undefined)
    # The keys Bokeh keeps: set values, unstable defaults (instances are always sent) and
    # themed values, in the order of `properties()` as Bokeh returns them.
    selected = set(self._property_values) | set(self._unstable_default_values)
    themed = self.themed_values()
    themed_keys = set(themed) if themed is not None else set()
    selected |= themed_keys
    result = {}
    for key in self.properties(_with_props=True):
        if key not in selected:
            continue
        descriptor = self.lookup(key)
        if not query(descriptor):
            continue
        value = descriptor.get_value(self)
        if (key not in themed_keys and isinstance(value, PropertyValueContainer)
                and key in self._unstable_default_values):
            continue  # an unmodified default container: Bokeh leaves it out too
        result[key] = value
    return result


query_properties_with_values.__wrapped__ = _bokeh_query  # check_upstream reads Bokeh's


def _immutable(value):
    kind = type(value)
    return kind in _IMMUTABLE or (kind is tuple and all(type(v) in _IMMUTABLE for v in value))


def _get_default(self, obj):
    """PropertyDescriptor._get_default, remembering stable immutable defaults per class (see
    the module's docstring)."""
    if getattr(obj, "__themed_values__", None) is None:
        key = (obj.__class__, self.name)
        value = _stable_defaults.get(key, _UNKNOWN)
        if value is _NOT_STABLE:
            return _bokeh_get_default(self, obj)
        if value is not _UNKNOWN:
            return value
        if not self.has_unstable_default(obj):
            value = self.instance_default(obj)
            _stable_defaults[key] = value if _immutable(value) else _NOT_STABLE
            return value
        _stable_defaults[key] = _NOT_STABLE
    return _bokeh_get_default(self, obj)


_get_default.__wrapped__ = _bokeh_get_default

_bokeh_set = PropertyDescriptor.__set__
_fresh_defaults = {}  # (model class, property name) -> whether its default is a new model
_NO_VALUE_YET = object()  # the "old" value of a property whose fresh default was not made


def _default_is_a_new_model(descriptor, obj):
    key = (obj.__class__, descriptor.name)
    fresh = _fresh_defaults.get(key)
    if fresh is None:
        from bokeh.core.property.instance import InstanceDefault

        overrides = obj._overridden_defaults()
        default = (overrides[descriptor.name] if descriptor.name in overrides
                   else descriptor.property._default)
        fresh = _fresh_defaults[key] = isinstance(default, InstanceDefault)
    return fresh


def _set(self, obj, value, *, setter=None):
    """PropertyDescriptor.__set__ without building a default model only to replace it in
    `__init__` (see the module's docstring)."""
    if (not obj._initialized and getattr(obj, "__themed_values__", None) is None
            and hasattr(obj, "_property_values") and self.name not in obj._property_values
            and _default_is_a_new_model(self, obj)):
        value = self.property.prepare_value(obj, self.name, value)
        self._set(obj, _NO_VALUE_YET, value, setter=setter)
        return
    _bokeh_set(self, obj, value, setter=setter)


_set.__wrapped__ = _bokeh_set


def speedups_apply():
    """Whether the installed Bokeh still has the three functions replaced, as written against."""
    return not check_upstream("cheaper defaults")


def install_speedups():
    """Use the cheaper query and defaults in this process (idempotent) unless
    DOWNHILL_SPEEDUPS=0. Returns whether they are in use."""
    if os.environ.get(SPEEDUPS_SWITCH, "1") == "0" or _missing("cheaper defaults"):
        return False
    HasProps.query_properties_with_values = query_properties_with_values
    PropertyDescriptor._get_default = _get_default
    PropertyDescriptor.__set__ = _set
    return True


def uninstall_speedups():
    HasProps.query_properties_with_values = _bokeh_query
    PropertyDescriptor._get_default = _bokeh_get_default
    PropertyDescriptor.__set__ = _bokeh_set


def speedups_installed():
    return (HasProps.query_properties_with_values is query_properties_with_values
            and PropertyDescriptor._get_default is _get_default
            and PropertyDescriptor.__set__ is _set)
