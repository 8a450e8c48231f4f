"""Loss surfaces and 1-D curves with exact gradients (pure numpy). See shared DESIGN.md.

    landscapes.names()      ids of the 2-D landscapes, in teaching order (bowl first)
    landscapes.get(id)      the landscape (loss, grad, hessian, bounds, minima, start, lr, ...)
    landscapes.curves()     ids of the 1-D curves ("square", "shifted")
    landscapes.curve(id)    the curve (loss, grad, hessian on arrays of any shape)

    landscapes.basins       (imported on its own: ``import landscapes.basins``) basin maps
                            of a grid of starts, the critical learning rate 2/λmax, η sweeps

An unknown id raises :class:`UnknownId`, which is both a KeyError and a ValueError.
Landscapes hold no state; ``get`` returns one shared instance per id.
"""

from __future__ import annotations

# The registry lists landscapes in the order their classes are declared, so the modules are
# imported in teaching order (hence no import sorting here).
# isort: off
from . import quadratic as _quadratic  # noqa: F401
from . import classic as _classic  # noqa: F401
from . import saddles as _saddles  # noqa: F401
from . import data as _data  # noqa: F401
from . import curves as _curves  # noqa: F401

# isort: on
from ._base import _CURVES, _LANDSCAPES, Curve, Landscape, UnknownId, _registered

__all__ = ["Curve", "Landscape", "UnknownId", "curve", "curves", "get", "names"]


def names() -> list[str]:
    """Ids of the registered 2-D landscapes, in teaching order (bowl first)."""
    return list(_LANDSCAPES)


def get(id: str) -> Landscape:
    """The landscape with this id; raises UnknownId (a KeyError and ValueError) otherwise."""
    return _registered("landscape", _LANDSCAPES, id)


def curves() -> list[str]:
    """Ids of the registered 1-D curves."""
    return list(_CURVES)


def curve(id: str) -> Curve:
    """The 1-D curve with this id; raises UnknownId (a KeyError and ValueError) otherwise."""
    return _registered("curve", _CURVES, id)
