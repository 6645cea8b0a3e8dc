"""``mx.mod``: the Module training API (``Module``, and ``BaseModule`` with the training loops)."""

from .base_module import BaseModule
from .module import Module

__all__ = ["BaseModule", "Module"]
