"""Audit trail package: `audit.record(...)` is the one door for every change."""
from .services import diff, record, viewed, viewed_list

__all__ = ["diff", "record", "viewed", "viewed_list"]
