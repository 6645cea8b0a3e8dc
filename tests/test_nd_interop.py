"""NDArray files against the real MXNet 1.9.1: fixtures in tests/fixtures were written by
`make_nd_fixtures.py` under MXNet. rmx must read them exactly, and write the very same bytes from
the same arrays (so MXNet reads rmx's files; `make_nd_fixtures.py --verify` checks that with MXNet
itself on files this test writes when RMX_INTEROP_OUT is set)."""

import os
import pickle

import numpy as np
import pytest

import rmx as mx
from rmx.base import FileError, InvalidArgumentError

HERE = os.path.join(os.path.dirname(__file__), "fixtures")
CASES = ["list", "dict", "dtypes", "empty_list"]


def expected(case):
    with np.load(os.path.join(HERE, f"mxnet_{case}.npz")) as z:
        if case in ("dict", "dtypes"):
            return {k: z[k] for k in z.files}
        return [z[f"arr_{i}"] for i in range(len(z.files))]


@pytest.mark.parametrize("case", CASES)
def test_reads_mxnet_files_exactly(case):
    loaded = mx.nd.load(os.path.join(HERE, f"mxnet_{case}.params"))
    want = expected(case)
    assert type(loaded) is type(want)
    assert len(loaded) == len(want)
    items = want.items() if isinstance(want, dict) else enumerate(want)
    for key, w in items:
        got = loaded[key].asnumpy()
        assert got.dtype == w.dtype, key
        assert got.shape == w.shape, key
        np.testing.assert_array_equal(got, w)


@pytest.mark.parametrize("case", CASES)
def test_writes_the_bytes_mxnet_writes(case, tmp_path):
    want = expected(case)
    if isinstance(want, dict):
        data = {k: mx.nd.array(v, dtype=v.dtype) for k, v in want.items()}
    else:
        data = [mx.nd.array(v, dtype=v.dtype) for v in want]
    out = os.environ.get("RMX_INTEROP_OUT")
    path = os.path.join(out, f"rmx_{case}.params") if out else str(tmp_path / "x.params")
    mx.nd.save(path, data)
    with open(path, "rb") as f, open(os.path.join(HERE, f"mxnet_{case}.params"), "rb") as g:
        assert f.read() == g.read()


def test_round_trip_of_views_and_single_arrays(tmp_path):
    base = mx.nd.arange(24).reshape((4, 6))
    view = base[1:3, ::2]
    path = str(tmp_path / "v.params")
    mx.nd.save(path, view)
    (back,) = mx.nd.load(path)
    np.testing.assert_array_equal(back.asnumpy(), base.asnumpy()[1:3, ::2])
    mx.nd.save(path, {"a": base, "b": view})
    d = mx.nd.load(path)
    assert sorted(d) == ["a", "b"]
    np.testing.assert_array_equal(d["a"].asnumpy(), base.asnumpy())
    assert pickle.loads(pickle.dumps(view)).shape == (2, 3)


def test_bad_files_and_arguments_raise_clearly(tmp_path):
    bad = tmp_path / "bad.params"
    bad.write_bytes(b"\x12\x01\x00\x00\x00\x00\x00\x00" + b"\x00" * 8 + b"\x05" + b"\x00" * 7)
    with pytest.raises(InvalidArgumentError, match="ends early"):
        mx.nd.load(str(bad))
    bad.write_bytes(b"not an ndarray file at all")
    with pytest.raises(InvalidArgumentError, match="magic"):
        mx.nd.load(str(bad))
    with pytest.raises(FileError):
        mx.nd.load(str(tmp_path / "missing.params"))
    with pytest.raises(InvalidArgumentError):
        mx.nd.save(str(bad), {"a": 1})
