"""A small asyncio client that speaks the Bokeh server protocol without a browser.

It does what the page's JavaScript does, minus the drawing: GET the page (the server builds a
session for it), take the session token from the HTML, open ``ws://host:port/ws`` with the
subprotocols ``["bokeh", token]``, wait for the server's ACK, PULL-DOC-REQ the document, then
send PATCH-DOC messages (a widget's new value, a button click) and wait for the patches the
server sends back. Load, leak and hostile-input tests drive hundreds of sessions with it.

    async with await BokehSession.open("http://127.0.0.1:5006/") as session:
        slider = session.find(title="Learning rate")
        path = session.find(name="landscape-path")
        await session.set_value(slider, -0.5)
        await session.wait_for(lambda: path_changed(session.get(path)["data"]))

Cookies as a browser keeps them: a session keeps the cookies the page's reply set (a jar of
its own unless one is given) and sends them back with the websocket upgrade, which is how
deploy/nginx.conf's affinity cookie brings the websocket to the replica that built the page;
``cookies=False`` is a browser that blocks them.

Wire format (bokeh/protocol/message.py): every message is three text frames, header,
metadata and content (JSON), then for each of ``header["num_buffers"]`` buffers a text frame
``{"id": ...}`` and a binary frame with its bytes. Model values use Bokeh's serialization:
``{"type": "object", "name": ..., "id": ..., "attributes": {...}}`` defines a model (later
mentions are ``{"id": ...}``), ``{"type": "ndarray", ...}`` an array, ``{"type": "number",
"value": "nan"}`` a non-finite float.
"""

import asyncio
import base64
import gzip
import itertools
import json
import re
import time
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

import numpy as np
import websockets

TOKEN_PATTERN = re.compile(r'"token"\s*:\s*"([A-Za-z0-9_\-.=]+)"')
NON_FINITE = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}
_message_ids = itertools.count(1)


class ProtocolError(RuntimeError):
    """The server answered something this client cannot follow (or an ERROR message)."""


def cookie_header(cookies):
    """The `Cookie` request header for a jar (name -> value), "" for none."""
    return "; ".join(f"{name}={value}" for name, value in (cookies or {}).items())


def keep_cookies(cookies, set_cookie_lines):
    """Put what each `Set-Cookie` line sets into the jar `cookies` (name -> value), as a
    browser does for one site: a cookie with Max-Age <= 0 is deleted; a line that is not a
    cookie is ignored, as browsers ignore it. Path and Domain are not kept: the students use
    one site and its cookies are for Path=/."""
    for line in set_cookie_lines:
        parsed = SimpleCookie()
        try:
            parsed.load(line)
        except CookieError:
            continue
        for name, morsel in parsed.items():
            max_age = morsel["max-age"]
            if max_age and max_age.lstrip("-").isdigit() and int(max_age) <= 0:
                cookies.pop(name, None)
            else:
                cookies[name] = morsel.value


async def fetch_page(url, timeout=60.0, cookies=None):
    """GET `url` over plain HTTP/1.0 and return (status, headers dict, body text). With a
    jar `cookies` (a dict, name -> value), send its cookies and keep the ones the reply sets
    in it. `headers` holds each header's last line, lower-case names."""
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    sent = cookie_header(cookies)
    extra = f"Cookie: {sent}\r\n" if sent else ""

    async def get():
        reader, writer = await asyncio.open_connection(host, port)
        try:
            request = (f"GET {path} HTTP/1.0\r\nHost: {parts.netloc}\r\nAccept: text/html\r\n"
                       f"{extra}\r\n")
            writer.write(request.encode("latin-1"))
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
            await writer.wait_closed()
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers, set_cookies = {}, []
        for line in lines[1:]:
            key, _, value = line.partition(":")
            key, value = key.strip().lower(), value.strip()
            headers[key] = value
            if key == "set-cookie":
                set_cookies.append(value)
        if cookies is not None:
            keep_cookies(cookies, set_cookies)
        return status, headers, body.decode("utf-8", "replace")

    return await asyncio.wait_for(get(), timeout)


def session_token(html):
    """The session token the server embedded in the page (the browser opens the websocket
    with it)."""
    match = TOKEN_PATTERN.search(html)
    if match is None:
        raise ProtocolError("no session token in the page")
    return match.group(1)


def _type_matches(model_type, wanted):
    """"Tabs" matches Bokeh's Tabs and Panel's "panel.models.tabs.Tabs"."""
    model_type = model_type or ""
    return model_type == wanted or model_type.endswith("." + wanted)


class BokehSession:
    """One server session over one websocket: the document's models as plain dicts, kept
    up to date by the server's patches."""

    def __init__(self, url, websocket, token):
        self.url = url
        self.websocket = websocket
        self.token = token
        self.models = {}  # id -> {"type": name, "id": id, "attributes": {...}}
        self.roots = []
        self.cookies = {}  # the browser's cookies for this site, sent with the upgrade
        self.page_headers = {}  # the page's HTTP response headers (lower-case names)
        self.upgrade_headers = {}  # the websocket upgrade's response headers
        self.patches_received = 0
        self.errors = []  # ERROR messages from the server
        self._buffers = {}
        self._replies = {}  # msgid -> future for OK / ERROR / PULL-DOC-REPLY
        self._changed = asyncio.Condition()
        self._reader = None

    # ---------------------------------------------------------------- connecting and closing

    @classmethod
    async def open(cls, url, timeout=60.0, origin=None, cookies=True):
        """Load the page at `url`, open its websocket, wait for ACK and pull the document.
        `cookies`: True, a jar of its own (a browser's first visit); a dict, that jar (kept
        up to date: tabs of one browser share it); False, none sent or kept (a browser that
        blocks cookies)."""
        if cookies is True:
            cookies = {}
        elif cookies is False:
            cookies = None
        status, headers, html = await fetch_page(url, timeout, cookies=cookies)
        if status != 200:
            raise ProtocolError(f"GET {url} answered {status}")
        return await cls.connect(url, html, timeout=timeout, origin=origin, headers=headers,
                                 cookies=cookies)

    @classmethod
    async def connect(cls, url, html, timeout=60.0, origin=None, headers=None, cookies=None):
        """The second half of `open`: with the page `html` fetched from `url` (with the
        response `headers`, and the jar `cookies` after the page's reply), open its websocket
        with those cookies, wait for ACK and pull the document."""
        token = session_token(html)
        sent = cookie_header(cookies)
        parts = urlsplit(url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        prefix = parts.path.rstrip("/")
        ws_url = f"{scheme}://{parts.netloc}{prefix}/ws"
        websocket = await asyncio.wait_for(
            websockets.connect(
                ws_url,
                subprotocols=["bokeh", token],
                origin=origin or f"{parts.scheme}://{parts.netloc}",
                max_size=None,  # the document arrives in one (large) content frame
                open_timeout=timeout,
                ping_interval=None,
                additional_headers={"Cookie": sent} if sent else None,
            ),
            timeout,
        )
        session = cls(url, websocket, token)
        session.cookies = cookies if cookies is not None else {}
        session.page_headers = headers or {}
        if websocket.response is not None:
            headers = websocket.response.headers.raw_items()
            session.upgrade_headers = {key.lower(): value for key, value in headers}
        try:
            ack = await asyncio.wait_for(session._read_message(), timeout)
            if ack[0]["msgtype"] != "ACK":
                raise ProtocolError(f"expected ACK, got {ack[0]['msgtype']}")
            session._reader = asyncio.create_task(session._read_forever())
            reply = await session._request("PULL-DOC-REQ", {}, timeout=timeout)
            session._load_document(reply["doc"])
        except BaseException:
            await session.close()
            raise
        return session

    async def close(self):
        """Close the websocket cleanly (the server then discards the session)."""
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):
                pass
            self._reader = None
        await self.websocket.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    @property
    def closed(self):
        return self.websocket.close_code is not None

    # ---------------------------------------------------------------- finding models

    def find_all(self, name=None, title=None, type=None, label=None):
        """Every model whose `name`, `title`, Bokeh type or `label` match the ones given
        (`type` "Button" also matches Panel's "panel.models.widgets.Button")."""
        found = []
        for model in self.models.values():
            attributes = model["attributes"]
            if name is not None and attributes.get("name") != name:
                continue
            if title is not None and attributes.get("title") != title:
                continue
            if label is not None and attributes.get("label") != label:
                continue
            if type is not None and not _type_matches(model["type"], type):
                continue
            found.append(model)
        return found

    def find(self, name=None, title=None, type=None, label=None):
        """The one model matching; ProtocolError when there is none or several."""
        found = self.find_all(name=name, title=title, type=type, label=label)
        if len(found) != 1:
            raise ProtocolError(
                f"{len(found)} models match name={name!r} title={title!r} type={type!r} "
                f"label={label!r}"
            )
        return found[0]

    def get(self, model):
        """The current attributes of a model (a model dict or an id)."""
        model_id = model if isinstance(model, str) else model["id"]
        return self.models[model_id]["attributes"]

    # ---------------------------------------------------------------- changing things

    async def set_value(self, model, value, attr="value", timeout=30.0):
        """Change a property as the browser does when a user moves a widget; returns once the
        server acknowledged the patch (OK). `value` goes on the wire as given (json), so
        hostile tests can send strings, or {"type": "number", "value": "nan"}."""
        model_id = model if isinstance(model, str) else model["id"]
        self.models[model_id]["attributes"][attr] = value
        event = {"kind": "ModelChanged", "model": {"id": model_id}, "attr": attr, "new": value}
        return await self.send_events([event], timeout=timeout)

    async def click(self, model, timeout=30.0):
        """A Button (or Toggle-like) click: the `button_click` event the browser sends."""
        return await self.send_event("button_click", model, timeout=timeout)

    async def send_event(self, event_name, model=None, timeout=30.0, **values):
        """A Bokeh UI event (button_click, tap, doubletap, document_ready, ...) as the
        browser sends it: a MessageSent patch of kind bokeh_event."""
        if model is not None:
            values["model"] = {"id": model if isinstance(model, str) else model["id"]}
        event = {
            "kind": "MessageSent",
            "msg_type": "bokeh_event",
            "msg_data": {"type": "event", "name": event_name, "values": values},
        }
        return await self.send_events([event], timeout=timeout)

    async def tap(self, figure, x, y, sx, sy, timeout=30.0):
        """A tap on `figure` at data (x, y), screen (sx, sy), sent as BokehJS sends a Tap:
        the event's values serialized as a map (model, sx, sy, x, y, modifiers)."""
        def as_map(values):
            return {"type": "map", "entries": [[key, value] for key, value in values.items()]}

        figure_id = figure if isinstance(figure, str) else figure["id"]
        modifiers = as_map({"shift": False, "ctrl": False, "alt": False})
        values = as_map({"model": {"id": figure_id}, "sx": sx, "sy": sy, "x": x, "y": y,
                         "modifiers": modifiers})
        event = {
            "kind": "MessageSent",
            "msg_type": "bokeh_event",
            "msg_data": {"type": "event", "name": "tap", "values": values},
        }
        return await self.send_events([event], timeout=timeout)

    async def send_events(self, events, timeout=30.0):
        """Send one PATCH-DOC with these events; return the server's OK content."""
        return await self._request("PATCH-DOC", {"events": events}, timeout=timeout)

    async def ready(self, names=(), timeout=30.0):
        """Say `document_ready`, as BokehJS does once the page is drawn, and wait until the
        models named in `names` exist: the app builds the open tab's lesson then (Panel's
        onload), so a page's first document holds only its header, toolbar and tabs."""
        await self.send_event("document_ready", timeout=timeout)
        await self.wait_for(lambda: all(self.find_all(name=n) for n in names), timeout)

    async def reveal(self, names=(), timeout=30.0):
        """Say that every placeholder of a part built when scrolled to (app/reveal.py: a
        model named `reveal-…` whose `seen` is not yet true) came into view, as the browser
        does when the student scrolls there, and wait until the models named in `names`
        exist."""
        hidden = [model for model in self.models.values()
                  if str(model["attributes"].get("name", "")).startswith("reveal-")
                  and not model["attributes"].get("seen")]
        for model in hidden:
            await self.set_value(model, True, attr="seen", timeout=timeout)
        await self.wait_for(lambda: all(self.find_all(name=n) for n in names), timeout)

    async def open_tab(self, title, names=(), timeout=30.0):
        """Make the tab titled `title` the active one (as a click on it does) and wait until
        the models named in `names` exist (lessons may be built when first opened)."""
        for tabs in self.find_all(type="Tabs"):
            titles = [self.get(panel).get("title") for panel in self.get(tabs)["tabs"]]
            if title in titles:
                await self.set_value(tabs, titles.index(title), attr="active", timeout=timeout)
                await self.wait_for(lambda: all(self.find_all(name=n) for n in names), timeout)
                return
        raise ProtocolError(f"no tab titled {title!r}")

    async def wait_for(self, predicate, timeout=30.0):
        """Wait until `predicate()` is true (checked after every patch from the server)."""
        async def check():
            async with self._changed:
                await self._changed.wait_for(lambda: self.closed or predicate())
            if not predicate():
                raise ProtocolError("the websocket closed while waiting")

        await asyncio.wait_for(check(), timeout)

    async def wait_for_patch(self, after, timeout=30.0):
        """Wait until more than `after` patches have arrived (take `after` from
        `patches_received` before sending)."""
        await self.wait_for(lambda: self.patches_received > after, timeout)

    # ---------------------------------------------------------------- the wire

    async def _request(self, msgtype, content, timeout):
        msgid = str(next(_message_ids))
        header = {"msgid": msgid, "msgtype": msgtype}
        future = asyncio.get_running_loop().create_future()
        self._replies[msgid] = future
        try:
            await self.websocket.send(json.dumps(header))
            await self.websocket.send("{}")
            await self.websocket.send(json.dumps(content, allow_nan=False))
            reply_header, content = await asyncio.wait_for(future, timeout)
        finally:
            self._replies.pop(msgid, None)
        if reply_header["msgtype"] == "ERROR":
            raise ProtocolError(f"server ERROR for {msgtype}: {content.get('text')}")
        return content

    async def _read_message(self):
        header = json.loads(await self.websocket.recv())
        _metadata = json.loads(await self.websocket.recv())
        content = json.loads(await self.websocket.recv())
        for _ in range(header.get("num_buffers", 0)):
            buffer_header = json.loads(await self.websocket.recv())
            payload = await self.websocket.recv()
            self._buffers[buffer_header["id"]] = payload
        return header, content

    async def _read_forever(self):
        try:
            while True:
                header, content = await self._read_message()
                msgtype = header["msgtype"]
                if msgtype == "PATCH-DOC":
                    self._apply_patch(content)
                    self._buffers.clear()
                    self.patches_received += 1
                    async with self._changed:
                        self._changed.notify_all()
                    continue
                if msgtype == "ERROR":
                    self.errors.append(content)
                future = self._replies.get(header.get("reqid"))
                if future is not None and not future.done():
                    future.set_result((header, content))
        except websockets.ConnectionClosed:
            pass
        finally:
            for future in self._replies.values():
                if not future.done():
                    future.set_exception(ProtocolError("the websocket closed"))
            async with self._changed:
                self._changed.notify_all()

    # ---------------------------------------------------------------- the document

    def _load_document(self, doc):
        self.roots = [self._decode(root) for root in doc.get("roots", [])]
        self._buffers.clear()

    def _apply_patch(self, content):
        for event in content.get("events", []):
            kind = event.get("kind")
            if kind == "ModelChanged":
                model = self.models.get(event["model"]["id"])
                value = self._decode(event["new"])
                if model is not None:
                    model["attributes"][event["attr"]] = value
            elif kind == "ColumnDataChanged":
                model = self.models.get(event["model"]["id"])
                data = self._decode(event["data"])
                if model is not None:
                    current = dict(model["attributes"].get("data") or {})
                    current.update(data)
                    model["attributes"]["data"] = current
            elif kind == "ColumnsStreamed":
                model = self.models.get(event["model"]["id"])
                data = self._decode(event["data"])
                if model is not None:
                    current = dict(model["attributes"].get("data") or {})
                    rollover = event.get("rollover")
                    for column, values in data.items():
                        joined = np.concatenate([np.asarray(current.get(column, [])),
                                                 np.asarray(values)])
                        current[column] = joined[-rollover:] if rollover else joined
                    model["attributes"]["data"] = current
            elif kind == "RootAdded":
                self.roots.append(self._decode(event["model"]))
            else:
                # ColumnsPatched, RootRemoved, TitleChanged, MessageSent: decode for the
                # model definitions they may carry.
                self._decode(event)

    def _decode(self, value):
        if isinstance(value, list):
            return [self._decode(item) for item in value]
        if not isinstance(value, dict):
            return value
        kind = value.get("type")
        if kind == "object" and "id" in value:
            model = self.models.setdefault(
                value["id"], {"type": value.get("name"), "id": value["id"], "attributes": {}}
            )
            model["attributes"].update(
                {k: self._decode(v) for k, v in value.get("attributes", {}).items()}
            )
            return {"id": value["id"]}
        if kind == "number":
            return NON_FINITE.get(value.get("value"), value.get("value"))
        if kind == "ndarray":
            array = value["array"]
            dtype = value.get("dtype", "float64")
            if isinstance(array, dict):
                raw = self._bytes(array)
                order = "<" if value.get("order", "little") == "little" else ">"
                decoded = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder(order))
                return decoded.reshape(value.get("shape", [-1]))
            return np.asarray(self._decode(array))
        if kind == "bytes":
            return self._bytes(value)
        if kind == "map":
            entries = value.get("entries", [])
            return {self._hashable(self._decode(k)): self._decode(v) for k, v in entries}
        return {k: self._decode(v) for k, v in value.items()}

    def _bytes(self, value):
        data = value["data"]
        if isinstance(data, str):  # inline bytes: base64 of gzip, as BokehJS decodes them
            return gzip.decompress(base64.b64decode(data))
        if isinstance(data, dict) and "id" in data:
            return self._buffers[data["id"]]
        return bytes(data)

    @staticmethod
    def _hashable(key):
        return json.dumps(key, sort_keys=True) if isinstance(key, (dict, list)) else key


async def timed_interaction(session, model, value, changed, timeout=30.0):
    """Set `model`'s value and wait until `changed()`; return the seconds it took."""
    started = time.perf_counter()
    await session.set_value(model, value, timeout=timeout)
    await session.wait_for(changed, timeout=timeout)
    return time.perf_counter() - started
