"""Cheaper paths through Bokeh's property defaults and serialization (server start-up).

Bokeh serializes a model (`HasProps.to_serializable`, for a new page's document and for every
patch that brings new models) with `properties_with_values(include_defaults=False)`, which
calls `query_properties_with_values`. That function reads the value of EVERY property of the
model, then throws away those that were never set (its own comment: "TODO: this should
happen before get_value()"). Reading an unset property computes its default: the theme
lookup, a copy and a full validation of the default value, for the ~50–120 properties of a
plot, a layout or a widget. On lesson 1's page that was ~80 % of the serialization:
`doc.to_json()` took ~80 ms, ~14 ms with the keys chosen first. The document sent is the
same, byte for byte (tests/app/test_speedups.py compares every lesson's).

`install()` replaces the function with one that picks the keys first and reads only their
values, for the one call that matters (include_defaults=False, include_undefined=False);
every other call goes to Bokeh's own. The only behaviour given up: Bokeh's version raises
UnsetValueError while serializing a model whose *required* property was never set even
though that property would not be sent; ours sends the model without it (BokehJS then
reports it).

It also remembers stable defaults. Every read of a property that was never set computes its
default anew (`PropertyDescriptor._get_default`: theme lookup, copy, validation), and Bokeh
and Panel read many: each walk over a document's references reads every unset reference
property of every model (Panel's Bokeh pane walks each figure, the document walks all its
models when one is added, ...). A default that is the same immutable value for every
instance of a class (None, a number, a string, a tuple of those; not a list, a dict or a
model, which Bokeh makes anew per instance) is computed once per class and property.
Models with theme values (`__themed_values__`) always take Bokeh's own path. On lesson 1
(build, Panel's models, document, serialization) ~13 % less CPU in-process.

Installed only on the Bokeh version it was checked against.
"""

from __future__ import annotations

import os

import bokeh
from bokeh.core.has_props import HasProps
from bokeh.core.property.descriptors import PropertyDescriptor
from bokeh.core.property.wrappers import PropertyValueContainer

CHECKED_BOKEH = ("3", "10")  # major, minor: the query function this replaces is from 3.10
SWITCH = "DOWNHILL_SPEEDUPS"  # "0": keep Bokeh's own (to compare, benchmarks/README.md)

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


def applicable():
    """Whether the installed Bokeh is the one this was checked against."""
    return tuple(bokeh.__version__.split(".")[:2]) == CHECKED_BOKEH


def install():
    """Use the cheaper query in this process (idempotent) unless DOWNHILL_SPEEDUPS=0.
    Returns whether it is in use."""
    if not applicable() or os.environ.get(SWITCH, "1") == "0":
        return False
    HasProps.query_properties_with_values = query_properties_with_values
    PropertyDescriptor._get_default = _get_default
    return True


def uninstall():
    HasProps.query_properties_with_values = _bokeh_query
    PropertyDescriptor._get_default = _bokeh_get_default


def installed():
    return (HasProps.query_properties_with_values is query_properties_with_values
            and PropertyDescriptor._get_default is _get_default)
