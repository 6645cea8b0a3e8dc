"""The engine from Python: push order against serial execution, the error rule with Python
exceptions, GIL release during waits, engine selection and argument errors."""

import random
import threading
import time

import pytest

import rmx
from rmx import engine
from rmx.base import EngineError, InvalidArgumentError, MXNetError


def random_program(seed, n_vars=12, n_ops=400):
    rng = random.Random(seed)
    ops = []
    for _ in range(n_ops):
        reads = rng.sample(range(n_vars), rng.randint(0, 3))
        writes = rng.sample(range(n_vars), rng.randint(0, 2))
        ops.append((reads, writes, rng.randrange(3), rng.choice(["normal", "cpu_prioritized"])))
    return ops


def step(values, reads, writes, i):
    seen = tuple(values[r] for r in reads)
    for w in writes:
        values[w] = hash((values[w], seen, i)) & 0xFFFFFFFF


@pytest.mark.parametrize("seed", range(3))
def test_random_programs_match_serial_execution(engine_kind, seed):
    ops = random_program(seed)
    want = list(range(12))
    for i, (reads, writes, _, _) in enumerate(ops):
        step(want, reads, writes, i)

    got = list(range(12))
    vars_ = [engine.new_var() for _ in range(12)]
    for i, (reads, writes, dev, prop) in enumerate(ops):
        engine.push(
            lambda r=reads, w=writes, i=i: step(got, r, w, i),
            reads=[vars_[r] for r in reads],
            writes=[vars_[w] for w in writes],
            prop=prop,
            ctx=rmx.cpu(dev),
        )
    engine.waitall()
    assert got == want


def test_python_exception_travels_to_dependents_and_surfaces_at_the_wait(engine_kind):
    bad, down, free = engine.new_var(), engine.new_var(), engine.new_var()
    ran = []

    def fail():
        raise KeyError("missing weight")

    engine.push(fail, writes=[bad], name="bad_op")
    engine.push(lambda: ran.append("down"), reads=[bad], writes=[down])
    engine.push(lambda: ran.append("free"), writes=[free])
    engine.wait_for_var(free)
    with pytest.raises(KeyError, match="missing weight"):
        engine.wait_for_var(down)
    assert ran == ["free"]
    # Reported at a wait, so waitall has nothing to add; the value stays failed until rewritten.
    engine.waitall()
    with pytest.raises(KeyError):
        engine.wait_for_var(bad)
    engine.push(lambda: None, writes=[bad])
    engine.wait_for_var(bad)


def test_waitall_raises_an_unreported_failure_once(engine_kind):
    v = engine.new_var()

    def fail():
        raise ZeroDivisionError("in a kernel")

    engine.push(fail, writes=[v])
    with pytest.raises(ZeroDivisionError):
        engine.waitall()
    engine.waitall()


def test_waits_release_the_gil():
    engine.set_engine_type("ThreadedEnginePerDevice")
    v = engine.new_var()
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    # The pushed function itself needs the GIL on a worker thread while this thread waits.
    engine.push(lambda: time.sleep(0.2), writes=[v])
    before = len(ticks)
    engine.wait_for_var(v)
    stop.set()
    t.join()
    assert len(ticks) - before > 10, "another Python thread must run while a wait blocks"


def test_threaded_engine_runs_independent_work_on_several_devices_at_once():
    engine.set_engine_type("ThreadedEnginePerDevice")
    # Each function waits for all four to have started: only concurrent execution gets through.
    barrier = threading.Barrier(4, timeout=10)
    vs = [engine.new_var() for _ in range(4)]
    for i, v in enumerate(vs):
        engine.push(barrier.wait, writes=[v], ctx=rmx.cpu(i))
    engine.waitall()  # raises BrokenBarrierError if they ran one after another


def test_deleted_variable_refuses_pushes(engine_kind):
    v = engine.new_var()
    engine.delete_var(v)
    with pytest.raises(EngineError, match="deleted"):
        engine.push(lambda: None, writes=[v], name="late")
    engine.waitall()


def test_engine_selection_and_bad_arguments():
    engine.set_engine_type("NaiveEngine")
    assert engine.engine_type() == "NaiveEngine"
    engine.set_engine_type("ThreadedEnginePerDevice")
    assert engine.engine_type() == "ThreadedEnginePerDevice"
    with pytest.raises(InvalidArgumentError, match="unknown engine"):
        engine.set_engine_type("TurboEngine")
    with pytest.raises(ValueError, match="unknown prop"):
        engine.push(lambda: None, writes=[engine.new_var()], prop="fastest")
    assert issubclass(EngineError, MXNetError) and issubclass(MXNetError, RuntimeError)


def test_context_scoping_and_names():
    assert rmx.current_context() == rmx.cpu(0)
    with rmx.cpu(2):
        assert rmx.current_context() == rmx.cpu(2)
        with rmx.gpu(1) as g:
            assert rmx.context.current_context() is g
        assert repr(rmx.current_context()) == "cpu(2)"
    assert rmx.current_context() == rmx.cpu(0)
    assert rmx.Context("gpu", 3).device_typeid == 2
    with pytest.raises(InvalidArgumentError, match="device_type"):
        rmx.Context("tpu")
