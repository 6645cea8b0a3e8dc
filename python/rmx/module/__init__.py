"""``mx.mod``: the Module training API: ``Module`` (a symbol bound on devices through
``executor_group.DataParallelExecutorGroup``), ``BucketingModule`` (one module per bucket key,
parameters shared), ``SequentialModule`` (modules chained), ``PythonModule`` and
``PythonLossModule`` (modules written in Python), and ``BaseModule`` with the training loops."""

from .base_module import BaseModule
from .bucketing_module import BucketingModule
from .module import Module
from .python_module import PythonLossModule, PythonModule
from .sequential_module import SequentialModule

__all__ = ["BaseModule", "Module", "BucketingModule", "SequentialModule", "PythonModule", "PythonLossModule"]
