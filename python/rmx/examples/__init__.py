"""Runnable examples: ``python -m rmx.examples.<name>``."""
