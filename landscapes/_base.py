"""The Landscape and Curve base classes and their registries.

A landscape is declared, not scripted: one class with an ``id``, its display attributes and the
formula written three times (loss, gradient, Hessian) as plain numpy on the coordinates ``x``
and ``y``. Defining the class registers it; :func:`landscapes.names` lists it.

Subclasses write ``_loss(x, y)``, ``_grad(x, y) -> (dx, dy)`` and, where the function is twice
differentiable everywhere, ``_hessian(x, y) -> (dxx, dxy, dyy)``; elsewhere they declare
``hessian = None``. The base class turns points of shape (..., 2) into ``x`` and ``y``, keeps
the input's float dtype, assembles the (..., 2) and (..., 2, 2) outputs and silences the
overflow that far-away points legitimately produce (the loss there is inf or nan; the optimizer
driver turns that into a divergence).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

__all__ = ["Curve", "Landscape", "UnknownId"]

# Points far outside the display overflow to inf (and inf - inf to nan): legitimate values.
_FAR_AWAY = {"over": "ignore", "invalid": "ignore"}

_LANDSCAPES: dict[str, type[Landscape]] = {}
_CURVES: dict[str, type[Curve]] = {}
_INSTANCES: dict[tuple[str, str], object] = {}


class UnknownId(KeyError, ValueError):
    """An id that names no registered landscape or curve (both a KeyError and a ValueError)."""

    def __str__(self) -> str:
        return str(self.args[0])


def _floating(a) -> np.ndarray:
    """The input as a float array: float dtypes are kept, everything else becomes float64."""
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)
    return a


def _points(p) -> np.ndarray:
    p = _floating(p)
    if p.ndim == 0 or p.shape[-1] != 2:
        raise ValueError(f"points must have shape (..., 2), got shape {p.shape}")
    return p


def _vector(gx, gy, like: np.ndarray) -> np.ndarray:
    """(gx, gy) stacked on a last axis of 2, broadcast to like's shape, in like's dtype."""
    shape = np.broadcast_shapes(like.shape, np.shape(gx), np.shape(gy))
    out = np.empty(shape + (2,), dtype=like.dtype)
    out[..., 0] = gx
    out[..., 1] = gy
    return out


def _matrix(hxx, hxy, hyy, like: np.ndarray) -> np.ndarray:
    """The symmetric [[hxx, hxy], [hxy, hyy]] on two last axes, broadcast like _vector."""
    shape = np.broadcast_shapes(like.shape, np.shape(hxx), np.shape(hxy), np.shape(hyy))
    out = np.empty(shape + (2, 2), dtype=like.dtype)
    out[..., 0, 0] = hxx
    out[..., 0, 1] = hxy
    out[..., 1, 0] = hxy
    out[..., 1, 1] = hyy
    return out


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _check_declared(cls: type, required: tuple[str, ...]) -> None:
    missing = [name for name in required if not hasattr(cls, name)]
    if missing:
        raise TypeError(f"{cls.__name__} (id {cls.id!r}) must declare {', '.join(missing)}")


def _registered(kind: str, registry: dict, id: str):
    if id not in registry:
        raise UnknownId(f"unknown {kind} {id!r}; choose one of: {', '.join(registry)}")
    key = (kind, id)
    if key not in _INSTANCES:
        _INSTANCES[key] = registry[id]()
    return _INSTANCES[key]


class Landscape:
    """A 2-D loss surface L(x, y) with its exact gradient (and Hessian where smooth).

    Class attributes every landscape declares:

    ``id``          stable id used by :func:`landscapes.get`
    ``title``       display name
    ``formula``     LaTeX, the standard form (as in the BoTorch / Wikipedia tables)
    ``description`` one sentence: what this surface teaches
    ``bounds``      ((xmin, xmax), (ymin, ymax)) of the display
    ``minima``      known global minima, a read-only float array of shape (k, 2), k may be 0
    ``min_value``   the loss at those minima, or None when there is no minimum
    ``start``       a good default start point (x, y) for the UI
    ``lr``          a good default learning rate for plain gradient descent from ``start``

    and, with defaults: ``variables`` = ("x", "y") (axis names), ``smooth`` = True (False where
    the gradient is undefined at a minimum, which opts out of the gradient-is-zero check),
    ``log_color`` = False (True where the loss spans decades: on a linear colour scale more
    than a quarter of the display would share the bottom 5% of the colours, so the heatmap
    should colour log(loss − lowest loss shown + a small offset) instead).
    ``hessian`` is None on landscapes that are not twice differentiable everywhere.
    """

    id: ClassVar[str]
    title: ClassVar[str]
    formula: ClassVar[str]
    description: ClassVar[str]
    bounds: ClassVar[tuple[tuple[float, float], tuple[float, float]]]
    minima: ClassVar[np.ndarray] = np.zeros((0, 2))
    min_value: ClassVar[float | None] = None
    start: ClassVar[tuple[float, float]]
    lr: ClassVar[float]
    variables: ClassVar[tuple[str, str]] = ("x", "y")
    smooth: ClassVar[bool] = True
    log_color: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "id" not in vars(cls):
            return  # an intermediate base class such as DataLandscape
        if cls.hessian is Landscape.hessian and not hasattr(cls, "_hessian"):
            raise TypeError(f"{cls.__name__} must write _hessian or declare hessian = None")
        _check_declared(cls, ("title", "formula", "description", "bounds", "start", "lr"))
        if cls.id in _LANDSCAPES:
            raise TypeError(f"landscape id {cls.id!r} is declared twice")
        cls.bounds = tuple((float(lo), float(hi)) for lo, hi in cls.bounds)
        cls.start = tuple(float(v) for v in cls.start)
        cls.minima = _frozen(np.array(cls.minima, dtype=np.float64).reshape(-1, 2))
        _LANDSCAPES[cls.id] = cls

    def loss(self, p) -> np.ndarray:
        """L at points p of shape (..., 2); returns shape (...), in p's float dtype."""
        p = _points(p)
        with np.errstate(**_FAR_AWAY):
            value = self._loss(p[..., 0], p[..., 1])
        return np.asarray(value).astype(p.dtype, copy=False)[()]

    def grad(self, p) -> np.ndarray:
        """∇L at points p of shape (..., 2); returns shape (..., 2), in p's float dtype."""
        p = _points(p)
        x = p[..., 0]
        with np.errstate(**_FAR_AWAY):
            gx, gy = self._grad(x, p[..., 1])
            return _vector(gx, gy, x)

    def hessian(self, p) -> np.ndarray:
        """∇²L at points p of shape (..., 2); returns shape (..., 2, 2), in p's float dtype."""
        p = _points(p)
        x = p[..., 0]
        with np.errstate(**_FAR_AWAY):
            hxx, hxy, hyy = self._hessian(x, p[..., 1])
            return _matrix(hxx, hxy, hyy, x)

    def __repr__(self) -> str:
        return f"<landscape {self.id}: {self.title}>"


class Curve:
    """A 1-D loss curve L(w) with its exact derivative and second derivative.

    Declares ``id``, ``title``, ``formula``, ``description``, ``bounds`` = (wmin, wmax),
    ``minima`` (a read-only float array of shape (k,)), ``min_value``, ``start`` and ``lr``;
    writes ``_loss(w)``, ``_grad(w)`` and ``_hessian(w)`` (the second derivative).
    ``loss``, ``grad`` and ``hessian`` take arrays of any shape (...) and keep their float dtype.
    """

    id: ClassVar[str]
    title: ClassVar[str]
    formula: ClassVar[str]
    description: ClassVar[str]
    bounds: ClassVar[tuple[float, float]]
    minima: ClassVar[np.ndarray] = np.zeros(0)
    min_value: ClassVar[float | None] = None
    start: ClassVar[float]
    lr: ClassVar[float]
    variables: ClassVar[tuple[str]] = ("w",)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "id" not in vars(cls):
            return
        _check_declared(cls, ("title", "formula", "description", "bounds", "start", "lr"))
        if cls.id in _CURVES:
            raise TypeError(f"curve id {cls.id!r} is declared twice")
        cls.bounds = (float(cls.bounds[0]), float(cls.bounds[1]))
        cls.start = float(cls.start)
        cls.minima = _frozen(np.array(cls.minima, dtype=np.float64).reshape(-1))
        _CURVES[cls.id] = cls

    def _apply(self, formula, w) -> np.ndarray:
        w = _floating(w)
        with np.errstate(**_FAR_AWAY):
            value = formula(w)
        return np.broadcast_to(value, w.shape).astype(w.dtype)[()]

    def loss(self, w) -> np.ndarray:
        """L(w) for w of any shape (...); same shape and float dtype."""
        return self._apply(self._loss, w)

    def grad(self, w) -> np.ndarray:
        """dL/dw for w of any shape (...); same shape and float dtype."""
        return self._apply(self._grad, w)

    def hessian(self, w) -> np.ndarray:
        """d²L/dw² for w of any shape (...); same shape and float dtype."""
        return self._apply(self._hessian, w)

    def __repr__(self) -> str:
        return f"<curve {self.id}: {self.title}>"
