"""The dependency engine from Python: variables, pushes, waits, and engine selection.

Everything rmx computes is pushed to this engine with the variables it reads and writes; it runs
when those are ready. Python code can push its own callables too, which is how the tests and
``python -m rmx.examples.engine_demo`` show the scheduling and the error rule::

    >>> import rmx
    >>> a, b = rmx.engine.new_var(), rmx.engine.new_var()
    >>> log = []
    >>> rmx.engine.push(lambda: log.append("write a"), writes=[a])
    >>> rmx.engine.push(lambda: log.append("read a, write b"), reads=[a], writes=[b])
    >>> rmx.engine.wait_for_var(b)
    >>> log
    ['write a', 'read a, write b']

The error rule (the Rust crate ``rmx-engine`` documents it in full): an exception raised by a
pushed function is stored on the variables it writes and passed on to operations that read them,
which then do not run; it is raised at ``wait_for_var`` on any of those variables, and at
``waitall()`` once if no wait reported it yet; a later write that does not read the variable
clears it. Waits release the GIL.

``RMX_ENGINE_TYPE=NaiveEngine`` (or ``set_engine_type("NaiveEngine")``) runs every push inline,
for debugging.
"""

from . import _rmx
from .context import current_context

__all__ = [
    "Var",
    "new_var",
    "push",
    "wait_for_var",
    "waitall",
    "delete_var",
    "engine_type",
    "set_engine_type",
]

Var = _rmx.Var
new_var = _rmx.new_var
wait_for_var = _rmx.wait_for_var
waitall = _rmx.waitall
delete_var = _rmx.delete_var
engine_type = _rmx.engine_type
set_engine_type = _rmx.set_engine_type


def push(func, reads=(), writes=(), prop="normal", priority=0, name="python_fn", ctx=None):
    """Schedules ``func()`` after the operations it depends on through ``reads`` and ``writes``.

    ``prop`` is MXNet's ``FnProperty`` (``normal``, ``cpu_prioritized``, ``copy_to_gpu``, ...),
    ``priority`` orders prioritized pools (higher first), ``ctx`` picks the device's workers
    (default: the current context). Returns at once.
    """
    ctx = ctx if ctx is not None else current_context()
    _rmx.push(func, list(reads), list(writes), prop, int(priority), str(name), ctx.device_typeid, ctx.device_id)
