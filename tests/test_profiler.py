"""mx.profiler: the Chrome trace holds exactly the operators run inside the window (by registry
name, per-thread ordered, non-negative durations), the aggregate table counts every call, the
Python-side objects record their events, and configuration errors read as MXNet's."""

import json
import re
import warnings
from collections import defaultdict

import pytest

import rmx as mx
from rmx import profiler


@pytest.fixture(autouse=True)
def fresh_profiler():
    profiler._reset()
    yield
    profiler._reset()


def load(path):
    with open(path) as f:
        return json.load(f)["traceEvents"]


def op_names(events):
    return [e["name"] for e in events if e.get("cat") == "operator" and e["ph"] == "B"]


def small_module():
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(data, num_hidden=2, name="fc1")
    mod = mx.mod.Module(mx.sym.SoftmaxOutput(fc, name="softmax"), data_names=["data"], label_names=["softmax_label"])
    mod.bind(data_shapes=[("data", (4, 3))], label_shapes=[("softmax_label", (4,))])
    mod.init_params()
    return mod, mx.io.DataBatch([mx.nd.ones((4, 3))], [mx.nd.zeros((4,))])


def test_trace_holds_the_operators_of_the_run_window(tmp_path):
    path = str(tmp_path / "trace.json")
    profiler.set_config(profile_all=True, filename=path)
    a = mx.nd.ones((3, 4))
    mod, batch = small_module()
    for _ in range(2):
        a - 1  # before the window
    profiler.set_state("run")
    for _ in range(5):
        b = a + 1
    mod.forward(batch, is_train=True)
    mod.backward()
    profiler.set_state("stop")
    for _ in range(3):
        b = a * 2  # after it
    b.wait_to_read()
    profiler.dump()

    events = load(path)
    names = op_names(events)
    assert names.count("_plus_scalar") == 5
    for name in ("FullyConnected", "SoftmaxOutput", "_backward_FullyConnected", "_backward_SoftmaxOutput"):
        assert name in names
    assert "_minus_scalar" not in names and "_mul_scalar" not in names
    assert {"ph": "M", "args": {"name": "cpu/0"}, "pid": 0, "name": "process_name"} in events

    open_at, last_ts = {}, defaultdict(float)
    for e in events:
        if e["ph"] == "M":
            continue
        assert set(e) >= {"name", "cat", "ph", "ts", "pid", "tid"}
        track = (e["pid"], e["tid"])
        assert e["ts"] >= last_ts[track], f"{e} goes back in time on its thread"
        last_ts[track] = e["ts"]
        if e["ph"] == "B":
            assert track not in open_at, "operators on one thread do not nest"
            open_at[track] = e
        elif e["ph"] == "E":
            begin = open_at.pop(track)
            assert begin["name"] == e["name"] and e["ts"] - begin["ts"] >= 0
    assert not open_at


def test_pause_excludes_the_paused_interval(tmp_path):
    path = str(tmp_path / "trace.json")
    profiler.set_config(filename=path)
    a = mx.nd.ones((2, 2))
    profiler.set_state("run")
    (a + 1).wait_to_read()
    profiler.pause()
    for _ in range(4):
        b = a * 2
    mark = profiler.Marker(profiler.Domain("d"), "while_paused")
    mark.mark()
    profiler.resume()
    for _ in range(2):
        b = a - 1
    profiler.set_state("stop")
    b.wait_to_read()
    profiler.dump()
    events = load(path)
    names = op_names(events)
    assert names.count("_plus_scalar") == 1 and names.count("_minus_scalar") == 2
    assert "_mul_scalar" not in names
    assert all(e["name"] != "while_paused" for e in events)


def test_nothing_is_recorded_without_run(tmp_path):
    path = str(tmp_path / "trace.json")
    profiler.set_config(filename=path, aggregate_stats=True)
    (mx.nd.ones((2,)) + 1).wait_to_read()
    profiler.Event("e").start()
    profiler.dump()
    assert [e for e in load(path) if e["ph"] != "M"] == []


def table_rows(text, category):
    """{name: (count, total, min, max, avg)} of one category of the ``dumps()`` table."""
    section = text.split(f"\n{category}\n=================\n", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in section.splitlines()[2:]:
        name, count, *times = re.split(r"\s{2,}", line.strip())
        rows[name] = (int(count), *map(float, times))
    return rows


def test_dumps_counts_every_call():
    profiler.set_config(aggregate_stats=True)
    assert profiler.dumps().startswith("\nProfile Statistics:\n\tNote the difference in units for different entries.\n")
    a = mx.nd.ones((3, 3))
    profiler.set_state("run")
    for _ in range(7):
        b = a + 1
    for _ in range(2):
        b = mx.nd.dot(a, b)
    profiler.set_state("stop")
    text = profiler.dumps()
    rows = table_rows(text, "operator")
    assert rows["_plus_scalar"][0] == 7 and rows["dot"][0] == 2
    count, total, low, high, avg = rows["_plus_scalar"]
    assert 0 <= low <= avg <= high <= total
    assert ("Name                          Total Count        Time (ms)    Min Time (ms)    Max Time (ms)"
            "    Avg Time (ms)") in text

    by_count = list(table_rows(profiler.dumps(sort_by="count"), "operator"))
    assert by_count.index("_plus_scalar") < by_count.index("dot")
    by_count_up = list(table_rows(profiler.dumps(sort_by="count", ascending=True), "operator"))
    assert by_count_up.index("_plus_scalar") > by_count_up.index("dot")

    stats = json.loads(profiler.dumps(format="json", reset=True))
    assert stats["Time"]["operator"]["_plus_scalar"]["Count"] == 7
    assert stats["Unit"] == {"Time": "ms", "Memory": "kB"}
    assert "\noperator\n" not in profiler.dumps()  # reset cleared it


def test_dumps_is_empty_without_aggregate_stats():
    profiler.set_state("run")
    (mx.nd.ones((2,)) + 1).wait_to_read()
    profiler.set_state("stop")
    assert profiler.dumps() == ""
    with pytest.raises(AssertionError, match="format"):
        profiler.dumps(format="xml")
    with pytest.raises(AssertionError, match="sort_by"):
        profiler.dumps(sort_by="name")


def test_python_side_objects_record_their_events(tmp_path):
    path = str(tmp_path / "trace.json")
    profiler.set_config(filename=path, aggregate_stats=True)
    domain = profiler.Domain("mydomain")
    late = domain.new_task("late")
    profiler.set_state("run")
    task, frame, event = domain.new_task("mytask"), domain.new_frame("myframe"), profiler.Event("myevent")
    for obj in (task, frame, event):
        obj.start()
        obj.stop()
    counter = domain.new_counter("mycounter", 5)
    counter += 3
    counter -= 1
    counter.increment()
    counter.decrement(2)
    marker = domain.new_marker("mymarker")
    for scope in ("global", "process", "thread"):
        marker.mark(scope)
    late.start()
    profiler.set_state("stop")
    late.stop()  # stopped outside the window: not recorded
    counter += 10
    profiler.dump()

    events = [e for e in load(path) if e["ph"] != "M"]
    phases = {(e["name"], e["cat"], e["ph"]) for e in events}
    assert {("mytask", "mydomain", "b"), ("mytask", "mydomain", "e"), ("myframe", "mydomain,frame", "("),
            ("myframe", "mydomain,frame", ")"), ("myevent", "event", "B"), ("myevent", "event", "E")} <= phases
    assert [e["args"]["mycounter"] for e in events if e["ph"] == "C"] == [5, 8, 7, 8, 6]
    assert [e["s"] for e in events if e["ph"] == "n" and e["cat"] == "mydomain,instant_marker"] == ["g", "p", "t"]
    assert not any(e["name"] == "late" for e in events)
    assert str(domain) == "mydomain" and str(task) == "mytask" and str(counter) == "mycounter"
    domains = {e["args"]["name"] for e in load(path) if e["ph"] == "M"}
    assert {"mydomain", "mydomain,frame", "event", "mydomain,instant_marker"} <= domains

    text = profiler.dumps()
    assert table_rows(text, "mydomain")["mytask"][0] == 1
    assert table_rows(text, "event")["myevent"][0] == 1
    assert table_rows(text, "mydomain")["mycounter"][:4] == (5, 6.0, 5.0, 8.0)  # count, last, min, max
    with pytest.raises(mx.MXNetError, match="valid values"):
        marker.mark("weird")


def test_dump_writes_complete_files(tmp_path):
    path = str(tmp_path / "trace.json")
    profiler.set_config(filename=path)
    a = mx.nd.ones((2,))
    profiler.set_state("run")
    (a + 1).wait_to_read()
    profiler.dump(finished=False)
    assert op_names(load(path)) == ["_plus_scalar"]
    (a - 1).wait_to_read()
    profiler.dump()
    assert op_names(load(path)) == ["_plus_scalar", "_minus_scalar"]
    (a * 2).wait_to_read()
    profiler.set_state("stop")
    profiler.dump()
    assert op_names(load(path)) == ["_mul_scalar"]


def test_operator_recording_follows_the_profile_flags(tmp_path):
    path = str(tmp_path / "trace.json")
    profiler.set_config(filename=path, profile_symbolic=False, profile_imperative=False)
    profiler.set_state("run")
    (mx.nd.ones((2,)) + 1).wait_to_read()
    profiler.set_state("stop")
    profiler.dump()
    assert op_names(load(path)) == []


def test_config_errors_read_as_mxnet():
    with pytest.raises(mx.MXNetError, match="Cannot find argument 'bogus', Possible Arguments:"):
        profiler.set_config(bogus=1)
    with pytest.raises(mx.MXNetError, match="expect boolean but value='maybe'"):
        profiler.set_config(profile_all="maybe")
    with pytest.raises(mx.MXNetError, match="expect float"):
        profiler.set_config(dump_period="x")
    with pytest.raises(mx.MXNetError, match="valid values are"):
        profiler.set_config(profile_process="foo")
    with pytest.raises(KeyError):
        profiler.set_state("bogus")
    profiler.set_config(profile_all=1, dump_period="0.5", filename=3)


def test_deprecated_names_warn_and_work(tmp_path):
    path = str(tmp_path / "old.json")
    a = mx.nd.ones((2,))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        profiler.profiler_set_config(mode="all", filename=path)
        profiler.profiler_set_state("run")
        (a + 1).wait_to_read()
        profiler.profiler_set_state("stop")
        profiler.dump_profile()
    assert len(caught) == 4 and all("deprecated" in str(w.message) for w in caught)
    assert op_names(load(path)) == ["_plus_scalar"]
    profiler.set_kvstore_handle(profiler.KVStoreHandle())
