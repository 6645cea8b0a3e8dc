"""Gluon's neural network layers (``mx.gluon.nn``), as MXNet 1.9.1: ``basic_layers.py``
(containers, Dense, Dropout, BatchNorm, LayerNorm, InstanceNorm, GroupNorm, Embedding, Flatten,
lambdas, Concurrent, Identity), ``conv_layers.py`` (convolutions, pooling, reflection padding),
``activations.py``.

Not here: BatchNormReLU (MXNet's ``contrib.BatchNormWithReLU``) and SyncBatchNorm."""

from ..block import Block, HybridBlock
from .activations import *  # noqa: F401,F403 (the module's __all__, as MXNet's nn)
from .basic_layers import *  # noqa: F401,F403
from .conv_layers import *  # noqa: F401,F403
from . import activations, basic_layers, conv_layers

__all__ = ["Block", "HybridBlock"] + activations.__all__ + basic_layers.__all__ + conv_layers.__all__
