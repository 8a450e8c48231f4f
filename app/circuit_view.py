"""Drawing a circuit as gates and wires (CS231n style): where each node goes, what each wire says.

Nothing here computes a value or a gradient: the numbers come from `circuits` (node.value,
node.grad, node.downstream_grads); this module places the graph on a grid, turns numbers into
labels and decides which labels an animation has revealed so far.

Placement: inputs in column 0 (left), the output gate in the last column (right), every other
gate as far right as its consumers allow (a short branch ends next to where it is used), a
constant in the column just before its consumer. Within a column, nodes sit at the mean height
of what feeds them, pushed apart to at least one row. A wire runs diagonally from its source
and then straight into its gate's port, and its labels sit on that straight run: the forward
value above, the gradient below.
"""

import math
from dataclasses import dataclass, field

from bokeh.models import ColumnDataSource, Range1d

from app import theme

# Okabe–Ito bluish green and vermillion, darkened to a 5:1 contrast on white so the labels
# read from the back of a hall; they differ in hue for every common colour-vision deficiency,
# and the labels differ in place (above / below), weight (bold / italic) and the legend too.
VALUE_COLOR = "#007a5a"
GRAD_COLOR = "#b84f00"
WIRE_COLOR = "#4d5761"
ACTIVE_COLOR = "#0072b2"  # Okabe–Ito blue: the gate the animation is at
SELECTED_COLOR = "#cc79a7"  # Okabe–Ito reddish purple: the tapped gate
GATE_FILL = "#ffffff"
INPUT_FILL = "#eef1f4"

PORT_SPREAD = 0.5  # vertical distance (in rows) between the two input ports of a gate
STUB = 0.5  # length (in columns) of a wire's straight run into its port
OUTPUT_LENGTH = 0.75  # length (in columns) of the output wire to the terminal "f"
TAP_RADIUS = (0.3, 0.35)  # how close (columns, rows) a tap must land to pick a node
ROW_PIXELS = 80  # a circuit with many rows grows the figure so its labels keep apart
# What a gate shows on the drawing when the circuit's label is too wide for the wire labels
# beside it (the tapped gate's description keeps the full name).
SHORT_LABELS = {"sigmoid": "σ"}


@dataclass
class Place:
    """Where one node sits: column (left → right) and row (top → bottom)."""

    col: float = 0.0
    row: float = 0.0
    consumers: list[int] = field(default_factory=list)


def layout(nodes) -> dict[int, Place]:
    """Columns and rows for circuit nodes given in topological order (id → Place)."""
    places = {node.id: Place() for node in nodes}
    by_id = {node.id: node for node in nodes}
    for node in nodes:
        for source in node.inputs:
            places[source].consumers.append(node.id)
    _columns(nodes, places)
    _rows(nodes, places, by_id)
    top = min(place.row for place in places.values())
    for place in places.values():
        place.row -= top
    return places


def _columns(nodes, places) -> None:
    height = {node.id: 0 for node in nodes}  # longest path from the node to the output
    for node in reversed(nodes):
        for source in node.inputs:
            height[source] = max(height[source], height[node.id] + 1)
    depth = max(height.values())
    for node in nodes:
        places[node.id].col = 0 if node.kind == "input" else depth - height[node.id]
    for node in reversed(nodes):
        if node.kind == "constant" and places[node.id].consumers:
            first = min(places[c].col for c in places[node.id].consumers)
            places[node.id].col = max(first - 1, 0)


def port_offset(slot: int, count: int) -> float:
    """Row offset of input port `slot` of a gate with `count` inputs (slot 0 on top)."""
    if count <= 1:
        return 0.0
    return -PORT_SPREAD / 2 + PORT_SPREAD * slot / (count - 1)


def _spread(column: list, places, wanted: dict) -> None:
    """Put a column's nodes at their wanted rows, at least one row apart, in that order."""
    column.sort(key=lambda node_id: wanted[node_id])
    rows = [wanted[node_id] for node_id in column]
    for i in range(1, len(rows)):
        rows[i] = max(rows[i], rows[i - 1] + 1.0)
    shift = (sum(wanted[node_id] for node_id in column) - sum(rows)) / len(rows)
    for node_id, row in zip(column, rows, strict=True):
        places[node_id].row = row + shift


def _rows(nodes, places, by_id) -> None:
    columns: dict[float, list[int]] = {}
    for node in nodes:
        columns.setdefault(places[node.id].col, []).append(node.id)
    wanted: dict[int, float] = {}
    for i, node in enumerate(n for n in nodes if n.kind == "input"):
        wanted[node.id] = float(i)
    # Left to right: a gate at the mean row of the non-constant nodes feeding it.
    floating = []
    for col in sorted(columns):
        placed = []
        for node_id in columns[col]:
            node = by_id[node_id]
            fed_by = [s for s in node.inputs if by_id[s].kind != "constant"]
            if node.kind == "input":
                placed.append(node_id)
            elif node.kind == "gate" and fed_by:
                wanted[node_id] = sum(places[s].row for s in fed_by) / len(fed_by)
                placed.append(node_id)
            else:
                floating.append(node_id)
        if placed:
            _spread(placed, places, wanted)
    # Right to left: a constant (or a gate of constants only) beside the port it feeds.
    for node in reversed(nodes):
        if node.id not in floating:
            continue
        consumers = places[node.id].consumers
        if consumers:
            consumer = by_id[consumers[0]]
            slot = consumer.inputs.index(node.id)
            offset = port_offset(slot, len(consumer.inputs))
            wanted[node.id] = places[consumer.id].row + 2.5 * offset
        else:
            wanted[node.id] = 0.0
        places[node.id].row = wanted[node.id]
    for column in columns.values():
        for node_id in column:
            wanted[node_id] = places[node_id].row
        _spread(column, places, wanted)


def number_label(value) -> str:
    """A number as the lesson prints it: up to 4 significant digits and a real minus sign."""
    value = float(value)
    if value == 0:
        return "0"
    return f"{value:.4g}".replace("-", "\u2212")


def reveal(circuit, progress: int) -> tuple[set, set, bool]:
    """What an animation at `progress` shows.

    Steps run 0 … 2G + 1 for G gates: the first G reveal gate values in the circuit's
    forward order, one more reveals the upstream gradient on the output wire, the last G
    reveal what each gate sends down its input wires, in the circuit's backward order.
    Returns (gates with values shown, gates whose backward step is shown, upstream shown).
    """
    gates = len(circuit.forward_order)
    valued = set(circuit.forward_order[: max(0, min(progress, gates))])
    sent = set(circuit.backward_order[: max(0, progress - gates - 1)])
    return valued, sent, progress > gates


def total_steps(circuit) -> int:
    """The number of the last animation step (everything shown)."""
    return 2 * len(circuit.forward_order) + 1


def active_gate(circuit, progress: int):
    """The gate the animation just computed at `progress` (None at the upstream step or 0)."""
    gates = len(circuit.forward_order)
    if 1 <= progress <= gates:
        return circuit.forward_order[progress - 1]
    if progress >= gates + 2:
        return circuit.backward_order[progress - gates - 2]
    return None


class CircuitFigure:
    """One Bokeh figure drawing circuits; built once, afterwards only its data changes.

    Sources (stable names `<prefix>-wires`, `<prefix>-nodes`):
    wires: source, target, slot, xs, ys, lx, ly, value, grad, value_label, grad_label, active
    (the highlight's opacity: the wires of the gate the animation is at);
    nodes: id, kind, label, x, y, value, grad, value_label, grad_label, line_color, line_width.
    `value` / `grad` always hold the numbers; the labels are empty until revealed.
    """

    def __init__(self, prefix: str, height: int, title: str = "", grow: bool = False):
        self.prefix = prefix
        self.height = height
        self.grow = grow
        self.wires = ColumnDataSource(data=self._empty_wires(), name=f"{prefix}-wires")
        self.nodes = ColumnDataSource(data=self._empty_nodes(), name=f"{prefix}-nodes")
        self.titles = ColumnDataSource(data={"x": [], "y": [], "text": []},
                                       name=f"{prefix}-titles")
        self.x_range = Range1d(-0.5, 3.5)
        self.y_range = Range1d(-3.5, 0.5)
        fig = theme.make_figure(
            f"{prefix}-figure",
            height=height,
            sizing_mode="stretch_width",
            x_range=self.x_range,
            y_range=self.y_range,
            tools="",
            toolbar_location=None,
            title=title,
            min_border=8,
            min_border_left=8,
            min_border_bottom=8,
            outline_line_color=None,
        )
        fig.axis.visible = False
        fig.grid.visible = False
        fig.title.text_font_size = "15px"
        fig.multi_line("xs", "ys", source=self.wires, line_color=WIRE_COLOR, line_width=2)
        fig.multi_line(
            "xs", "ys", source=self.wires, line_color=ACTIVE_COLOR, line_width=5,
            line_alpha="active",
        )
        label = dict(source=self.wires, x="lx", y="ly", text_font_size="17px",
                     text_align="center", background_fill_color="#ffffff",
                     background_fill_alpha=0.8)
        fig.text(text="value_label", y_offset=-3, text_baseline="bottom",
                 text_color=VALUE_COLOR, text_font_style="bold", **label)
        fig.text(text="grad_label", y_offset=3, text_baseline="top",
                 text_color=GRAD_COLOR, text_font_style="italic", **label)
        fig.text(
            x="x", y="y", text="label", source=self.nodes, text_align="center",
            text_baseline="middle", text_font_size="18px", text_font_style="bold",
            text_color=theme.TEXT_COLOR, background_fill_color="fill", padding=9,
            border_line_color="line_color", border_line_width="line_width",
            outline_shape="shape", border_radius=6,
        )
        fig.text(
            x="x", y="y", text="grad_label", source=self.nodes, y_offset=22,
            text_align="center", text_baseline="top", text_font_size="15px",
            text_font_style="italic", text_color=GRAD_COLOR,
        )
        fig.text(x="x", y="y", text="text", source=self.titles, text_align="left",
                 text_baseline="bottom", text_font_size="15px", text_font_style="bold",
                 text_color="#1f2328")
        self.figure = fig

    @staticmethod
    def _empty_wires():
        return {key: [] for key in ("source", "target", "slot", "xs", "ys", "lx", "ly", "value",
                                    "grad", "value_label", "grad_label", "active")}

    @staticmethod
    def _empty_nodes():
        return {key: [] for key in ("id", "kind", "label", "x", "y", "value", "grad",
                                    "value_label", "grad_label", "fill", "shape", "line_color",
                                    "line_width")}

    def draw(self, parts, selected=None, titles=(), highlight=False):
        """Draw circuits side by side: `parts` is a list of (circuit, places, x offset,
        progress); every circuit has run forward and backward. Node ids in the sources are
        the circuit's ids (for one circuit) or offset by 1000 per part; the output terminal
        "f" is id −1 (−1 − 1000·part). `titles` go above each part; `highlight` marks the
        gate the animation is at."""
        wires, nodes = self._empty_wires(), self._empty_nodes()
        right, bottom = -math.inf, 0.0
        for index, (circuit, places, offset, progress) in enumerate(parts):
            base = 1000 * index if len(parts) > 1 else 0
            depth = _draw_one(circuit, places, offset, progress, base, selected, highlight,
                             wires, nodes)
            right = max(right, offset + depth + OUTPUT_LENGTH)
            bottom = max(bottom, max(place.row for place in places.values()))
        left = min((offset for _, _, offset, _ in parts), default=0.0)
        top = 0.95 if titles else 0.55
        self.x_range.update(start=left - 0.45, end=right + 0.3)
        self.y_range.update(start=-bottom - 0.7, end=top)
        if self.grow:
            self.figure.height = max(self.height, int(ROW_PIXELS * (bottom + 1.5)))
        self.wires.data = wires
        self.nodes.data = nodes
        self.titles.data = {"x": [offset - 0.3 for _, _, offset, _ in parts][: len(titles)],
                            "y": [0.45] * len(titles), "text": list(titles)}

    def node_at(self, x: float, y: float):
        """The id of the node drawn nearest to (x, y), if the tap is close enough."""
        best, best_distance = None, math.inf
        for node_id, nx, ny in zip(self.nodes.data["id"], self.nodes.data["x"],
                                   self.nodes.data["y"], strict=True):
            dx, dy = abs(x - nx) / TAP_RADIUS[0], abs(y - ny) / TAP_RADIUS[1]
            distance = max(dx, dy)
            if distance <= 1 and distance < best_distance:
                best, best_distance = node_id, distance
        return best


def _draw_one(circuit, places, offset, progress, base, selected, highlight, wires,
              nodes) -> float:
    """Append one circuit's wires and nodes to the column dicts; return its depth."""
    valued, sent, upstream_shown = reveal(circuit, progress)
    active = active_gate(circuit, progress) if highlight else None
    by_id = {node.id: node for node in circuit.nodes}

    def shown_value(node):
        return node.kind != "gate" or node.id in valued

    depth = max(place.col for place in places.values())
    for node in circuit.nodes:
        place = places[node.id]
        x, y = offset + place.col, -place.row
        for slot, source_id in enumerate(node.inputs):
            source = by_id[source_id]
            start = places[source_id]
            sx, sy = offset + start.col, -start.row
            py = y - port_offset(slot, len(node.inputs))
            bend = x - STUB
            wires["source"].append(base + source_id)
            wires["target"].append(base + node.id)
            wires["slot"].append(slot)
            wires["xs"].append([sx, bend, x])
            wires["ys"].append([sy, py, py])
            wires["lx"].append(bend + STUB * 0.36)
            wires["ly"].append(py)
            wires["value"].append(float(source.value))
            wires["grad"].append(float(node.downstream_grads[slot]))
            wires["value_label"].append(number_label(source.value) if shown_value(source)
                                        else "")
            wires["grad_label"].append(number_label(node.downstream_grads[slot])
                                       if node.id in sent else "")
            wires["active"].append(0.8 if node.id == active else 0.0)
        is_gate = node.kind == "gate"
        nodes["id"].append(base + node.id)
        nodes["kind"].append(node.kind)
        nodes["label"].append(SHORT_LABELS.get(node.label, node.label))
        nodes["x"].append(x)
        nodes["y"].append(y)
        nodes["value"].append(float(node.value))
        nodes["grad"].append(float(node.grad))
        nodes["value_label"].append(number_label(node.value) if shown_value(node) else "")
        complete = all(consumer in sent for consumer in place.consumers)
        show_total = node.kind == "input" and len(place.consumers) > 1 and complete
        nodes["grad_label"].append(f"total {number_label(node.grad)}" if show_total else "")
        nodes["fill"].append(GATE_FILL if is_gate else INPUT_FILL)
        nodes["shape"].append("ellipse" if is_gate else "box")
        if base + node.id == selected:
            nodes["line_color"].append(SELECTED_COLOR)
            nodes["line_width"].append(4)
        elif node.id == active:
            nodes["line_color"].append(ACTIVE_COLOR)
            nodes["line_width"].append(4)
        else:
            nodes["line_color"].append("#1f2328" if is_gate else "#8c959f")
            nodes["line_width"].append(2 if is_gate else 1)
    # The output wire to the terminal "f": the output value above, the upstream below.
    out = by_id[circuit.output]
    ox, oy = offset + places[out.id].col, -places[out.id].row
    wires["source"].append(base + out.id)
    wires["target"].append(-1)
    wires["slot"].append(0)
    wires["xs"].append([ox, ox + OUTPUT_LENGTH])
    wires["ys"].append([oy, oy])
    wires["lx"].append(ox + OUTPUT_LENGTH * 0.55)
    wires["ly"].append(oy)
    wires["value"].append(float(out.value))
    wires["grad"].append(float(out.grad))
    wires["value_label"].append(number_label(out.value) if shown_value(out) else "")
    wires["grad_label"].append(number_label(out.grad) if upstream_shown else "")
    wires["active"].append(0.8 if upstream_shown and progress == len(circuit.forward_order) + 1
                           and highlight else 0.0)
    nodes["id"].append(-1 - base)
    nodes["kind"].append("output")
    nodes["label"].append("f")
    nodes["x"].append(ox + OUTPUT_LENGTH)
    nodes["y"].append(oy)
    nodes["value"].append(float(out.value))
    nodes["grad"].append(float(out.grad))
    nodes["value_label"].append(wires["value_label"][-1])
    nodes["grad_label"].append("")
    nodes["fill"].append(INPUT_FILL)
    nodes["shape"].append("box")
    nodes["line_color"].append("#8c959f")
    nodes["line_width"].append(1)
    return depth
