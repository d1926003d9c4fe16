"""Lookup lists that administrators edit (signpost categories, reasons, ...)."""
