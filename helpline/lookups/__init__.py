"""Lookup lists that administrators edit (signpost categories, reasons, ...)."""
from . import cache  # noqa: F401  (its flush hook versions every change to a list)
