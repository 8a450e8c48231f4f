"""A typed expression in x and y as a 2-D loss surface, its gradient from the backward pass.

Duck-types the landscape contract (loss, grad, hessian, bounds, minima, start, lr, title,
formula, id, ...) without importing landscapes/.
"""

import math
import threading

import numpy as np

from .circuit import parse
from .errors import ExpressionError

DEFAULT_BOUNDS = ((-5.0, 5.0), (-5.0, 5.0))


def to_landscape(text: str, bounds=DEFAULT_BOUNDS, start=None, lr: float = 0.1,
                 title: str | None = None) -> "CircuitLandscape":
    """The landscape f(x, y) = ``text``, e.g. ``to_landscape("x**2 + 3*y**2")``.

    Raises ExpressionError for a bad expression or a variable other than x and y.
    """
    return CircuitLandscape(text, bounds=bounds, start=start, lr=lr, title=title)


class CircuitLandscape:
    """f(x, y) typed by a person. ``loss`` runs the circuit forward over any grid of points;
    ``grad`` runs it backward too, so the gradient is exact (autograd), not a difference
    quotient. Nothing is known about its minima, and it may have kinks (max, abs, relu), so
    ``minima`` is empty, ``min_value`` and ``hessian`` are None and ``smooth`` is False."""

    id = "custom"
    hessian = None
    min_value = None
    smooth = False
    log_color = False
    variables = ("x", "y")   # the axes, as landscapes' ``variables``

    def __init__(self, text: str, bounds=DEFAULT_BOUNDS, start=None, lr: float = 0.1,
                 title: str | None = None):
        self.circuit = parse(text)
        for name in self.circuit.variables:
            if name not in ("x", "y"):
                column = self.circuit.nodes[self.circuit.variable_ids[name]].column
                raise ExpressionError(
                    f"a landscape is a function of x and y only; {name} is neither", column)
        self.text = text
        self.bounds = _check_bounds(bounds)
        (x_min, x_max), (y_min, y_max) = self.bounds
        if start is None:
            # (4, 3) in the default bounds, as the bowl's start.
            start = (x_min + 0.9 * (x_max - x_min), y_min + 0.8 * (y_max - y_min))
        self.start = tuple(float(v) for v in np.asarray(start, dtype=np.float64).ravel())
        if len(self.start) != 2 or not all(math.isfinite(v) for v in self.start):
            raise ValueError(f"start must be two finite numbers, not {start!r}")
        self.lr = float(lr)
        self.minima = np.zeros((0, 2))
        self.minima.setflags(write=False)
        self.formula = self.circuit.latex
        self.title = title if title is not None else f"f(x, y) = {self.circuit.output_node.text}"
        self.description = (
            f"Your function f(x, y) = {self.circuit.output_node.text}. Its gradient comes from "
            "the circuit's backward pass: exact, as autograd computes it, not a finite "
            "difference.")
        self._lock = threading.Lock()   # the circuit keeps the numbers of its last pass

    def __repr__(self) -> str:
        return f"circuits.to_landscape({self.text!r})"

    def loss(self, p):
        """f at points p of shape (..., 2) → shape (...)."""
        p, dtype = _points(p)
        with self._lock:
            value = self.circuit.forward(**self._inputs(p))
        return _result(np.broadcast_to(value, p.shape[:-1]), dtype)

    def grad(self, p):
        """∇f at points p of shape (..., 2) → shape (..., 2), by backpropagation."""
        p, dtype = _points(p)
        with self._lock:
            self.circuit.forward(**self._inputs(p))
            gradients = self.circuit.backward(1.0)
        columns = [np.broadcast_to(gradients.get(name, 0.0), p.shape[:-1]) for name in "xy"]
        return _result(np.stack(columns, axis=-1), dtype)

    def _inputs(self, p) -> dict:
        coordinates = {"x": p[..., 0], "y": p[..., 1]}
        return {name: coordinates[name] for name in self.circuit.variables}


def _points(p):
    p = np.asarray(p)
    if p.ndim == 0 or p.shape[-1] != 2:
        raise ValueError(f"points must have shape (..., 2), not {p.shape}")
    dtype = p.dtype if np.issubdtype(p.dtype, np.floating) else np.dtype(np.float64)
    return p.astype(np.float64, copy=False), dtype


def _result(array, dtype):
    return np.array(array, dtype=dtype)[()]


def _check_bounds(bounds):
    try:
        (x_min, x_max), (y_min, y_max) = bounds
        checked = ((float(x_min), float(x_max)), (float(y_min), float(y_max)))
    except (TypeError, ValueError):
        raise ValueError(f"bounds must be ((xmin, xmax), (ymin, ymax)), not {bounds!r}") from None
    for low, high in checked:
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueError(f"bounds must be finite with min < max, not {bounds!r}")
    return checked
