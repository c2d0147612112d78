"""Seawall: stops bulk and automated messaging on messaging platforms, from metadata only."""

__version__ = "0.1.0"
