"""Hà Tĩnh online public services bot."""

__version__ = "0.1.0"
