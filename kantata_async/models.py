"""Model classes for Kantata records (every collection's, generated from the API's facts),
and helpers to inspect what is loaded."""

from . import _generated
from ._generated import *  # noqa: F403 - every generated model, listed in its __all__
from ._models.base import ABSENT, Many, Model, One, Record, is_loaded, loaded_fields
from ._models.capacity import Capacity

__all__ = [
    "ABSENT",
    "Capacity",
    "Many",
    "Model",
    "One",
    "Record",
    "is_loaded",
    "loaded_fields",
]
__all__ += _generated.__all__
