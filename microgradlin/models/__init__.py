"""Models: the ``Module`` base class and the lecture's linear models."""

from .module import Linear, Module

__all__ = ["Module", "Linear"]
