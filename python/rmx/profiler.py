"""The profiler (MXNet's ``mxnet.profiler``): what the engine ran, and what Python marked, between
``set_state('run')`` and ``set_state('stop')``, written as a Chrome trace or summed in a table.

The engine records every operation a worker executes while the profiler runs (its registry name,
device, worker thread, start and duration); ``Task``, ``Frame``, ``Event``, ``Counter`` and
``Marker`` record from Python on the same clock. ``dump()`` writes the record as the
``{"traceEvents": [...]}`` JSON that ``chrome://tracing`` and Perfetto open, laid out as MXNet
writes it: one process per device (``cpu/0``) holding operator ``B``/``E`` pairs of category
``operator``, and one per domain for the Python-side objects. With ``aggregate_stats=True``,
``dumps()`` returns per-name counts and times as MXNet prints them.

    >>> import json, os, tempfile
    >>> import rmx as mx
    >>> path = os.path.join(tempfile.mkdtemp(), 'profile.json')
    >>> mx.profiler.set_config(profile_all=True, aggregate_stats=True, filename=path)
    >>> mx.profiler.set_state('run')
    >>> x = mx.nd.ones((2, 3))
    >>> for _ in range(3):
    ...     x = x + 1
    >>> mx.profiler.set_state('stop')
    >>> mx.profiler.dump()
    >>> trace = json.load(open(path))['traceEvents']
    >>> [e['name'] for e in trace if e['ph'] == 'B'].count('_plus_scalar')
    3
    >>> print(mx.profiler.dumps(reset=True))  # doctest: +ELLIPSIS
    <BLANKLINE>
    Profile Statistics:
    ...
    operator
    =================
    Name                          Total Count        Time (ms)    Min Time (ms)    Max Time (ms)    Avg Time (ms)
    ...
    _plus_scalar                            3 ...
    >>> mx.profiler.set_config(aggregate_stats=False, filename='profile.json')

Unlike MXNet, an operation counts as inside the window when it *runs* inside it; so that this
matches MXNet's rule (pushed inside it), ``set_state``, ``pause`` and ``resume`` first wait for
all pushed work. Each ``dump`` writes a complete JSON file.
"""
import ctypes  # noqa: F401 - MXNet's module exposes it
import json
import threading
import warnings

from . import _rmx
from .base import KVStoreHandle, ParameterError, ProfileHandle
from .base import c_str, c_str_array, check_call, py_str  # noqa: F401 - MXNet's module exposes them

__all__ = ["set_config", "set_state", "pause", "resume", "dump", "dumps", "Domain", "Task", "Frame", "Event",
           "Counter", "Marker", "set_kvstore_handle", "profiler_set_config", "profiler_set_state", "dump_profile"]

profiler_kvstore_handle = KVStoreHandle()


def set_kvstore_handle(handle):
    """Sets the kvstore whose server ``profile_process='server'`` refers to (kept; rmx profiles
    this process only)."""
    global profiler_kvstore_handle
    profiler_kvstore_handle = handle


# ---------------------------------------------------------------------------------------------
# Configuration: MXNet's ProfileConfigParam, parsed as dmlc parameters are.

def _parse_bool(key, value):
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ParameterError(f"Invalid Parameter format for {key} expect boolean but value='{value}'")


def _parse_float(key, value):
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"Invalid Parameter format for {key} expect float but value='{value}'") from None


def _parse_process(key, value):
    if str(value) not in ("server", "worker"):
        raise ParameterError(f"Invalid Input: '{value}', valid values are: {{'server', 'worker'}}")
    return str(value)


# name: (parser, default, MXNet's description)
_PARAMS = {
    "profile_all": (_parse_bool, False, "boolean, optional, default=0\n    Profile all. Default is False."),
    "profile_symbolic": (_parse_bool, True, "boolean, optional, default=1\n    Profile symbolic operators.  "
                                            "Default is True."),
    "profile_imperative": (_parse_bool, True, "boolean, optional, default=1\n    Profile imperative operators.  "
                                              "Default is True."),
    "profile_memory": (_parse_bool, True, "boolean, optional, default=1\n    Profile memory.  Default is True."),
    "profile_api": (_parse_bool, True, "boolean, optional, default=1\n    Profile C API.  Default is True."),
    "filename": (lambda k, v: str(v), "profile.json", "string, optional, default='profile.json'\n"
                                                       "    File name to write profiling info."),
    "continuous_dump": (_parse_bool, True, "boolean, optional, default=1\n    Periodically dump (and append) "
                                           "profiling data to file while running. Default is True."),
    "dump_period": (_parse_float, 1.0, "float, optional, default=1\n    When continuous dump is enabled, the "
                                       "period between subsequent profile info dumping."),
    "aggregate_stats": (_parse_bool, False, "boolean, optional, default=0\n    Maintain aggregate stats, required "
                                            "for MXDumpAggregateStats.  Note that this can have a negative "
                                            "performance impact. Default is False."),
    "profile_process": (_parse_process, "worker", "{'server', 'worker'},optional, default='worker'\n    "
                                                  "Specifies which process to profile."),
}

_PROCESSES = {"worker": 0, "server": 1}


class _State:  # everything the profiler holds; one instance, every field guarded by ``lock``
    def __init__(self):
        self.lock = threading.RLock()
        self.config = {key: default for key, (_, default, _) in _PARAMS.items()}
        self.running = False
        self.paused = False
        # Records, oldest first: (phase pair, category, name, thread, start_us, dur_us, extra)
        # where extra is the device for operators, the value for counters, the scope for markers.
        self.trace = []
        self.stats = {}  # category -> name -> [count, total, min, max, last, is_counter]
        self.stat_categories = set()  # categories shown even when they have no rows (markers)


_state = _State()


def _operators_on():
    c = _state.config
    return c["profile_all"] or c["profile_symbolic"] or c["profile_imperative"]


def _recording():
    return _state.running and not _state.paused


def _sync_engine():  # the engine records exactly when we do and operators are configured
    _rmx.profiler_set_running(_recording() and _operators_on())


def _wait_all():
    """Waits for all pushed work; a failure it raises is raised after the state change instead."""
    from . import engine
    try:
        engine.waitall()
    except Exception as error:  # noqa: BLE001 - re-raised by the caller once the state has changed
        return error
    return None


def _drain():  # moves the engine's record of operations into ours
    for name, device, thread, start, dur in _rmx.profiler_events(True):
        _add(("B", "E"), "operator", name, thread, start, dur, device)


def _add(phases, category, name, thread, start, dur, extra=None):
    with _state.lock:
        _state.trace.append((phases, category, name, thread, start, dur, extra))
        if not _state.config["aggregate_stats"]:
            return
        if phases == ("n", None):
            _state.stat_categories.add(category)
            return
        counter = phases == ("C", None)
        value = extra if counter else dur
        row = _state.stats.setdefault(category, {}).get(name)
        if row is None:
            _state.stats[category][name] = [1, value, value, value, value, counter]
        else:
            row[0] += 1
            row[1] += value
            row[2] = min(row[2], value)
            row[3] = max(row[3], value)
            row[4] = value


def set_config(**kwargs):
    """Sets the profiler's configuration (keyword arguments only).

    Parameters
    ----------
    filename : str
        Where ``dump`` writes the trace. Default ``'profile.json'``.
    profile_all : bool
        Record everything.
    profile_symbolic, profile_imperative : bool
        Record operators (rmx's engine does not tell the two apart: either one records all).
    profile_memory, profile_api : bool
        Accepted; rmx records no memory or C API events.
    continuous_dump : bool, dump_period : float
        Accepted; rmx writes the file only at ``dump``.
    aggregate_stats : bool
        Keep per-name counts and times for ``dumps``.
    profile_process : {'worker', 'server'}
        Which process of a distributed job to profile; rmx profiles this process.

    An unknown key raises ``MXNetError`` (a ``ParameterError``) listing the accepted ones.
    """
    parsed = {}
    for key, value in kwargs.items():
        if key not in _PARAMS:
            listing = "\n".join(f"{name} : {doc}" for name, (_, _, doc) in _PARAMS.items())
            raise ParameterError(f"Cannot find argument '{key}', Possible Arguments:\n----------------\n{listing}")
        parsed[key] = _PARAMS[key][0](key, value)
    with _state.lock:
        _drain()
        _state.config.update(parsed)
        _sync_engine()


def profiler_set_config(mode='symbolic', filename='profile.json'):
    """Sets the profiler's mode (``'symbolic'`` or ``'all'``) and file (deprecated: ``set_config``)."""
    warnings.warn('profiler.profiler_set_config() is deprecated. Please use profiler.set_config() instead')
    set_config(**{"profile_" + mode: True, "filename": filename})


def set_state(state='stop', profile_process='worker'):
    """Starts (``'run'``) or stops (``'stop'``) recording, after waiting for all pushed work."""
    running = {'stop': False, 'run': True}[state]
    _PROCESSES[profile_process]  # noqa: B018 - the same KeyError as MXNet for a bad name
    error = _wait_all()
    with _state.lock:
        _drain()
        _state.running = running
        _sync_engine()
    if error is not None:
        raise error


def profiler_set_state(state='stop'):
    """Starts or stops recording (deprecated: ``set_state``)."""
    warnings.warn('profiler.profiler_set_state() is deprecated. Please use profiler.set_state() instead')
    set_state(state)


def _set_paused(paused, profile_process):
    _PROCESSES[profile_process]  # noqa: B018
    error = _wait_all()
    with _state.lock:
        _drain()
        _state.paused = paused
        _sync_engine()
    if error is not None:
        raise error


def pause(profile_process='worker'):
    """Pauses recording (after waiting for pushed work) until ``resume``."""
    _set_paused(True, profile_process)


def resume(profile_process='worker'):
    """Resumes recording paused by ``pause`` (after waiting for work pushed meanwhile)."""
    _set_paused(False, profile_process)


# ---------------------------------------------------------------------------------------------
# Chrome trace output.

_DEVICE_ORDER = {"cpu": 0, "gpu": 1, "cpu_pinned": 2, "cpu_shared": 3}


def _device_key(device):
    kind, _, rest = device.partition("(")
    return _DEVICE_ORDER.get(kind, 4), kind, int(rest.rstrip(")") or 0)


def _device_label(device):
    _, kind, dev_id = _device_key(device)
    if kind == "cpu_pinned":
        return "cpu pinned/"
    if kind == "cpu_shared":
        return "cpu shared/"
    return f"{kind}/{dev_id}"


def _trace_events(records):
    """The ``traceEvents`` list for ``records``: process names first, then the events in time
    order (an end before a begin at the same instant, unless it closes a zero-length record)."""
    devices = sorted({r[6] for r in records if r[1] == "operator"} | {"cpu(0)"}, key=_device_key)
    pids = {("device", d): i for i, d in enumerate(devices)}
    meta = [{"ph": "M", "args": {"name": _device_label(d)}, "pid": i, "name": "process_name"}
            for i, d in enumerate(devices)]
    points = []
    for seq, (phases, category, name, thread, start, dur, extra) in enumerate(records):
        key = ("device", extra) if category == "operator" else ("category", category)
        if key not in pids:
            pids[key] = len(pids)
            meta.append({"ph": "M", "args": {"name": category}, "pid": pids[key], "name": "process_name"})
        base = {"name": name, "cat": category, "pid": pids[key], "tid": thread}
        begin, end = phases
        first = dict(base, ph=begin, ts=round(start, 3))
        if begin == "b":
            first["id"] = thread
        elif begin == "C":
            first["args"] = {name: extra}
        elif begin == "n":
            first["s"] = extra
        points.append(((start, 1, seq), first))
        if end is not None:
            last = dict(base, ph=end, ts=round(start + dur, 3))
            if end == "e":
                last["id"] = thread
            points.append(((start + dur, 0 if dur > 0 else 2, seq), last))
    points.sort(key=lambda p: p[0])
    return meta + [event for _, event in points]


def dump(finished=True, profile_process='worker'):
    """Writes what was recorded to the configured file as Chrome trace JSON.

    Each call writes a complete file of everything recorded since the last ``finished`` dump;
    ``finished=True`` (the default) then starts a new record. Recording goes on either way."""
    _PROCESSES[profile_process]  # noqa: B018
    with _state.lock:
        _drain()
        records = list(_state.trace)
        filename = _state.config["filename"]
        if finished:
            _state.trace.clear()
    with open(filename, "w") as f:
        json.dump({"traceEvents": _trace_events(records), "displayTimeUnit": "ms"}, f, indent=4)


def dump_profile():
    """Writes the trace (deprecated: ``dump``)."""
    warnings.warn('profiler.dump_profile() is deprecated. Please use profiler.dump() instead')
    dump(True)


# ---------------------------------------------------------------------------------------------
# Aggregate statistics.

_SORT_COLUMNS = {'total': 1, 'avg': None, 'min': 2, 'max': 3, 'count': 0}


def _sorted_rows(rows, sort_by, ascending):
    def key(item):
        count, total = item[1][0], item[1][1]
        return total / count if sort_by == 'avg' else item[1][_SORT_COLUMNS[sort_by]]
    return sorted(rows.items(), key=key, reverse=not ascending)


def _row_values(row):
    """(count, total, min, max, avg) as shown: milliseconds for durations; counter values as
    they are, with the last value as total."""
    count, total, low, high, last, counter = row
    if counter:
        return count, last, low, high, total / count
    return count, total / 1e3, low / 1e3, high / 1e3, total / count / 1e3


def dumps(reset=False, format='table', sort_by='total', ascending=False):
    """Returns the aggregate statistics (``set_config(aggregate_stats=True)``) as MXNet prints
    them: per category, per name the count and total, min, max and average time in ms.

    Parameters
    ----------
    reset : bool
        Clear the statistics after reading them.
    format : {'table', 'json'}
    sort_by : {'total', 'avg', 'min', 'max', 'count'}
        The column rows are sorted by within each category.
    ascending : bool
    """
    assert format in ('table', 'json'), \
        "Invalid value provided for format: {0}. Support: 'table', 'json'".format(format)
    assert sort_by in _SORT_COLUMNS, \
        "Invalid value provided for sort_by: {0}. Support: 'total', 'avg', 'min', 'max', 'count'".format(sort_by)
    assert ascending in (False, True), \
        "Invalid value provided for ascending: {0}. Support: False, True".format(ascending)
    assert reset in (False, True), "Invalid value provided for reset: {0}. Support: False, True".format(reset)
    with _state.lock:
        _drain()
        if not _state.config["aggregate_stats"] and not _state.stats:
            return ''
        categories = sorted(set(_state.stats) | _state.stat_categories)
        table = {c: [(name, _row_values(row)) for name, row in
                     _sorted_rows(_state.stats.get(c, {}), sort_by, ascending)] for c in categories}
        if reset:
            _state.stats.clear()
            _state.stat_categories.clear()
    if format == 'json':
        time = {c: {name: dict(zip(("Count", "Total", "Min", "Max", "Avg"),
                                   (v[0],) + tuple(float(f"{x:.4g}") for x in v[1:])))
                    for name, v in rows} for c, rows in table.items()}
        return json.dumps({"Time": time, "Memory": {}, "Unit": {"Time": "ms", "Memory": "kB"}}, indent=4)
    out = ["\nProfile Statistics:\n\tNote the difference in units for different entries.\n"]
    for category, rows in table.items():
        out.append(f"{category}\n=================\n")
        out.append(f"{'Name':<25}{'Total Count':>16}{'Time (ms)':>17}{'Min Time (ms)':>17}"
                   f"{'Max Time (ms)':>17}{'Avg Time (ms)':>17}\n")
        out.append(f"{'----':<25}{'-----------':>16}{'---------':>17}{'-------------':>17}"
                   f"{'-------------':>17}{'-------------':>17}\n")
        for name, (count, total, low, high, avg) in rows:
            out.append(f"{name:<25}{count:>16}{total:>17.4f}{low:>17.4f}{high:>17.4f}{avg:>17.4f}\n")
        out.append("\n")
    return "".join(out)


def _reset():
    """Stops the profiler and forgets everything it recorded and its configuration (for tests)."""
    with _state.lock:
        _state.running = _state.paused = False
        _sync_engine()
        _rmx.profiler_events(True)
        _state.trace.clear()
        _state.stats.clear()
        _state.stat_categories.clear()
        _state.config = {key: default for key, (_, default, _) in _PARAMS.items()}


# ---------------------------------------------------------------------------------------------
# Python-side objects.

_now = _rmx.profiler_now  # (microseconds on the engine's profiler clock, this thread's number)


class Domain(object):
    """A category that groups tasks, frames, counters and markers in the trace.

    Parameters
    ----------
    name : str
    """

    def __init__(self, name):
        self.name = name
        self.handle = ProfileHandle()

    def __str__(self):
        return self.name

    def new_task(self, name):
        """A new ``Task`` in this domain."""
        return Task(self, name)

    def new_frame(self, name):
        """A new ``Frame`` in this domain."""
        return Frame(self, name)

    def new_counter(self, name, value=None):
        """A new ``Counter`` in this domain, set to ``value`` if given."""
        return Counter(self, name, value)

    def new_marker(self, name):
        """A new ``Marker`` in this domain."""
        return Marker(self, name)


class _Duration(object):
    """A named span timed by ``start``/``stop``, recorded when the profiler runs at ``stop``."""

    _phases = ("B", "E")

    def __init__(self, category, name):
        self.name = name
        self.handle = ProfileHandle()
        self._category = category
        self._start = None

    def start(self):
        """Starts timing."""
        self._start = _now()[0]

    def stop(self):
        """Stops timing; records the span if the profiler is running and not paused."""
        now, thread = _now()
        if self._start is None:
            return
        start, self._start = self._start, None
        with _state.lock:
            if _recording():
                _add(self._phases, self._category, self.name, thread, start, now - start)

    def __str__(self):
        return self.name


class Task(_Duration):
    """A unit of work on one thread (chrome async ``b``/``e`` events in the domain's category);
    every pass through it adds to one row of the aggregate statistics.

    Parameters
    ----------
    domain : Domain
    name : str
    """

    _phases = ("b", "e")

    def __init__(self, domain, name):
        super().__init__(domain.name, name)


class Frame(_Duration):
    """A frame: a span shown on its own track (``(``/``)`` events, category ``<domain>,frame``).

    Parameters
    ----------
    domain : Domain
    name : str
    """

    _phases = ("(", ")")

    def __init__(self, domain, name):
        super().__init__(domain.name + ",frame", name)


class Event(_Duration):
    """A span of this thread's work (``B``/``E`` events, category ``event``).

    Parameters
    ----------
    name : str
    """

    def __init__(self, name):
        super().__init__("event", name)


class Counter(object):
    """A value tracked over time (``C`` events in the domain's category).

    Parameters
    ----------
    domain : Domain
    name : str
    value : int, optional
        The initial value.
    """

    def __init__(self, domain, name, value=None):
        self.name = name
        self.handle = ProfileHandle()
        self._category = domain.name
        self._value = 0
        if value is not None:
            self.set_value(value)

    def _record(self):
        now, thread = _now()
        with _state.lock:
            if _recording():
                _add(("C", None), self._category, self.name, thread, now, 0.0, self._value)

    def set_value(self, value):
        """Sets the counter to ``value``."""
        self._value = int(value)
        self._record()

    def increment(self, delta=1):
        """Adds ``delta`` to the counter."""
        self._value += int(delta)
        self._record()

    def decrement(self, delta=1):
        """Subtracts ``delta`` from the counter."""
        self._value -= int(delta)
        self._record()

    def __iadd__(self, delta):
        self.increment(delta)
        return self

    def __isub__(self, delta):
        self.decrement(delta)
        return self

    def __str__(self):
        return self.name


_SCOPES = {"global": "g", "process": "p", "thread": "t", "task": "p", "marker": "p"}


class Marker(object):
    """An instant in time (an ``n`` event in category ``<domain>,instant_marker``).

    Parameters
    ----------
    domain : Domain
    name : str
    """

    def __init__(self, domain, name):
        self.name = name
        self.domain = domain

    def mark(self, scope='process'):
        """Records the instant; ``scope`` is 'global', 'process', 'thread', 'task' or 'marker'."""
        if scope not in _SCOPES:
            raise ParameterError(f"Invalid Input: '{scope}', valid values are: "
                                 "{'global', 'marker', 'process', 'task', 'thread'}")
        now, thread = _now()
        with _state.lock:
            if _recording():
                _add(("n", None), self.domain.name + ",instant_marker", self.name, thread, now, 0.0,
                     _SCOPES[scope])
