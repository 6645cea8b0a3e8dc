"""Predefined models (``mx.gluon.model_zoo``), as MXNet 1.9.1: ``vision`` holds the image
classifiers, ``model_store`` finds their pretrained parameter files.

rmx never downloads: ``pretrained=True`` loads a file that is already in the local model store
(``$MXNET_HOME/models``, ``~/.mxnet/models`` by default), the very files MXNet downloads and
keeps there, and says which file it expected when it is missing.
"""

from . import model_store
from . import vision

__all__ = ["model_store", "vision"]
