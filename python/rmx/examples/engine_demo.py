"""A tour of the dependency engine and ``mx.nd`` on it: ``python -m rmx.examples.engine_demo``.

Pushes a small graph of Python functions (each sleeps, releasing the GIL, to stand for a kernel)
and shows that independent work overlaps on the threaded engine while dependent work keeps push
order, that the naive engine runs the same graph serially with the same result, and how a failure
travels to what depends on it and surfaces at the wait.
"""

import os
import time

import rmx
from rmx import engine


def build_graph(log, width, delay):
    """``width`` independent producers, one consumer reading them all, then a chain of three."""
    parts = [engine.new_var() for _ in range(width)]
    total = engine.new_var()

    def produce(i):
        time.sleep(delay)
        log.append(f"produce {i}")

    for i, v in enumerate(parts):
        engine.push(lambda i=i: produce(i), writes=[v], name=f"produce{i}", ctx=rmx.cpu(i))
    engine.push(lambda: log.append("sum"), reads=parts, writes=[total], name="sum")
    for step in range(3):
        engine.push(lambda step=step: log.append(f"scale {step}"), reads=[total], writes=[total], name="scale")
    return total


def run(kind, width, delay):
    engine.set_engine_type(kind)
    log = []
    start = time.perf_counter()
    total = build_graph(log, width, delay)
    engine.wait_for_var(total)
    elapsed = time.perf_counter() - start
    print(f"{kind:>24}: {width} producers of {delay * 1e3:.0f} ms each took {elapsed * 1e3:6.1f} ms; "
          f"order after the producers: {log[width:]}")
    return log[width:]


def show_errors():
    bad, downstream, independent = engine.new_var(), engine.new_var(), engine.new_var()

    def fail():
        raise ValueError("a kernel found a NaN")

    engine.push(fail, writes=[bad], name="bad_kernel")
    engine.push(lambda: print("  never printed: its input failed"), reads=[bad], writes=[downstream])
    engine.push(lambda: None, writes=[independent])
    engine.wait_for_var(independent)
    print("  the independent variable waits cleanly")
    try:
        engine.wait_for_var(downstream)
    except ValueError as e:
        print(f"  waiting on the dependent variable raises the original error: {type(e).__name__}: {e}")


def show_ndarray():
    """The same engine under ``mx.nd``: calls return at once, reads wait."""
    a = rmx.nd.random.uniform(shape=(1024, 1024))
    start = time.perf_counter()
    products = [rmx.nd.dot(a, a) for _ in range(8)]
    pushed = time.perf_counter() - start
    total = sum(products[1:], products[0])
    value = total.sum().asscalar()
    waited = time.perf_counter() - start
    print(f"  8 products of 1024x1024 pushed in {pushed * 1e3:.2f} ms; their sum ({value:.4g}) "
          f"was ready after {waited * 1e3:.0f} ms ({8 * 2 * 1024**3 / waited / 1e9:.0f} GFLOP/s)")
    try:
        rmx.nd.ones((2, 3)) + rmx.nd.ones((3, 2))
    except rmx.base.ShapeError as e:
        print(f"  shape errors raise at the call: {e}")


def main():
    width, delay = int(os.environ.get("DEMO_WIDTH", 4)), 0.05
    print(f"rmx {rmx.__version__}: dependency engine demonstration")
    threaded = run("ThreadedEnginePerDevice", width, delay)
    naive = run("NaiveEngine", width, delay)
    engine.set_engine_type("ThreadedEnginePerDevice")
    assert threaded == naive, "both engines must give the same order of dependent work"
    print("A failure flows to what reads it and surfaces at the wait:")
    show_errors()
    print("NDArray operations are pushes too:")
    show_ndarray()
    engine.waitall()


if __name__ == "__main__":
    main()
