"""The package version (hatch reads it from here at build time)."""

__version__ = "0.1.0.dev0"
