"""rmx: a deep learning framework in MXNet's design, with a Rust core.

``import rmx as mx`` gives MXNet 1.x's Python API as it lands, issue by issue. Present now:

- ``rmx.engine``: the dependency engine (variables, pushes, waits, engine selection);
- ``rmx.context``: ``Context``, ``cpu``, ``gpu``, ``current_context``;
- ``rmx.base``: the ``MXNetError`` exception family;
- ``rmx.nd``: the imperative NDArray API, ``rmx.random``: sampling and seeding;
- ``rmx.sym``: symbols, ``rmx.executor``: bound symbols, ``rmx.name``/``rmx.AttrScope``: naming.
"""

from . import _rmx
from . import _cuda_libs
_cuda_libs.register()
from . import base, context, engine
from . import ndarray
from . import ndarray as nd
from . import autograd
from .ndarray import random
from . import name, attribute, symbol, executor, test_utils
from . import visualization
from . import models
from . import visualization as viz
from . import symbol as sym
from .attribute import AttrScope
from . import registry, initializer, metric, lr_scheduler, callback
from . import initializer as init
from . import optimizer, kvstore
from . import gluon
from . import optimizer as opt
from . import kvstore as kv
from . import io, recordio, image
from . import model, module, monitor
from . import monitor as mon
from . import module as mod
from .base import MXNetError
from . import util, runtime, libinfo
from . import operator
from . import contrib
ndarray.Custom = operator._nd_custom
symbol.Custom = operator._sym_custom
from . import profiler
from .util import is_np_shape, set_np_shape, np_shape, use_np_shape
from .util import is_np_array, np_array, use_np_array, use_np
from .context import Context, cpu, cpu_pinned, current_context, gpu

__version__ = _rmx.__version__

__all__ = ["io", "optimizer", "opt", "kvstore", "kv", "model", "module", "mod", "models", "registry", "initializer", "init", "metric", "lr_scheduler", "callback", "viz", "visualization", "test_utils", "sym", "symbol", "name", "AttrScope", "executor", "base", "context", "engine", "nd", "ndarray", "random", "Context", "cpu", "gpu", "cpu_pinned", "current_context", "MXNetError", "util", "runtime", "libinfo",
           "is_np_shape", "set_np_shape", "np_shape", "use_np_shape", "is_np_array", "np_array", "use_np_array", "use_np"]

# A process started as a distributed job's server or scheduler runs that role here and exits.
from . import kvstore_server as _kvstore_server  # noqa: E402

_kvstore_server._init_kvstore_server_module()
