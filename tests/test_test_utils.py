"""rmx.test_utils against MXNet 1.9.1's: the default tolerances (recorded from the real MXNet in
tests/fixtures/mxnet_api_names.json), the comparisons, check_consistency catching a wrong result,
and the data, random and environment helpers. Nothing here needs the network."""

import bz2
import json
import os
import statistics
import zipfile

import numpy as np
import pytest

import rmx as mx
from rmx import test_utils as tu
from rmx.executor import Executor

with open(os.path.join(os.path.dirname(__file__), "fixtures", "mxnet_api_names.json")) as _f:
    FIXTURE = json.load(_f)


def by_name(table):
    return {np.dtype(k).name: float(v) for k, v in table.items()}


# --- tolerances and comparisons ----------------------------------------------------------------

def test_default_tolerances_are_mxnets():
    assert by_name(tu.default_rtols()) == FIXTURE["default_rtols"]
    assert by_name(tu.default_atols()) == FIXTURE["default_atols"]
    assert by_name(tu.default_numeric_eps()) == FIXTURE["default_numeric_eps"]
    assert tu.get_etol() == FIXTURE["get_etol"]
    assert tu.get_rtol() == 1e-5 and tu.get_atol() == 1e-20 and tu.get_rtol(0.5) == 0.5
    assert tu.get_atol(dtype=np.dtype(np.float16)) == 0.1


def test_get_tols_takes_the_looser_dtype_and_dict_entries():
    f16, f32, f64 = (np.ones(2, dtype=t) for t in (np.float16, np.float32, np.float64))
    assert tu.get_tols(f32, f64, None, None) == (1e-4, 1e-3)
    assert tu.get_tols(f16, f32, None, None) == (1e-2, 1e-1)
    assert tu.get_tols(f32, f32, 0.5, 0.25) == (0.5, 0.25)
    assert tu.get_tols(f32, f32, {np.dtype(np.float32): 0.3}, {np.dtype(np.float64): 9.0}) == (0.3, 1e-3)
    assert tu.get_tols(1.0, mx.nd.ones(2, dtype="float16"), None, None) == (1e-2, 1e-1)


def test_assert_almost_equal_uses_dtype_tolerances_and_names_the_worst_element():
    tu.assert_almost_equal(np.float32([1, 2]), np.float32([1, 2.0002]))
    tu.assert_almost_equal(mx.nd.array([1, 2]), np.float32([1, 2.0002]))
    with pytest.raises(AssertionError) as info:
        tu.assert_almost_equal(np.float64([1, 2, 3]), np.float64([1, 2.5, 3]), names=("got", "want"))
    assert "Location of maximum error: (1,), got=2.00000000, want=2.50000000" in str(info.value)
    assert "mismatch 33.333333%" in str(info.value)
    with pytest.raises(AssertionError):
        tu.assert_almost_equal(np.ones((2, 1)), np.ones((2, 3)), use_broadcast=False)
    tu.assert_almost_equal(np.ones((2, 1)), np.ones((2, 3)))
    with pytest.raises(AssertionError):
        tu.assert_almost_equal(np.array([True, False]), np.array([True, True]))
    tu.assert_almost_equal(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), equal_nan=True)
    with pytest.raises(AssertionError):
        tu.assert_almost_equal(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))


def test_almost_equal_defaults_are_float64s_as_in_mxnet():
    a, b = np.float32([1.0]), np.float32([1.0005])
    assert not tu.almost_equal(a, b)  # rtol 1e-5, atol 1e-20 whatever the dtype
    tu.assert_almost_equal(a, b)  # float32's 1e-4 / 1e-3


def test_assert_almost_equal_with_err_tolerates_a_fraction():
    a, b = np.zeros(10), np.zeros(10)
    b[0] = 1
    tu.assert_almost_equal_with_err(a, b, etol=0.2)
    with pytest.raises(AssertionError):
        tu.assert_almost_equal_with_err(a, b, etol=0.05)
    with pytest.raises(AssertionError):
        tu.assert_almost_equal_with_err(a, b)


def test_small_comparisons():
    tu.assert_almost_equal_ignore_nan(np.array([np.nan, 1.0]), np.array([5.0, 1.0]))
    tu.assert_exception(int, ValueError, "x")
    with pytest.raises(AssertionError):
        tu.assert_exception(int, ValueError, "1")
    with pytest.raises(AssertionError):
        tu.checkShapes(np.ones(2), np.ones(3))
    tu.compare_ndarray_tuple((mx.nd.ones(2), (np.ones(1),)), (np.ones(2), (np.ones(1),)))
    with pytest.raises(AssertionError):
        tu.compare_ndarray_tuple((np.ones(2),), (np.zeros(2),))
    assert tu.locationError(np.float32([1, 2]), np.float32([1, 3]), (1,), ("x", "y")) == \
        "Location of error: (1,), x=2.00000000, y=3.00000000"
    assert tu.effective_dtype(mx.nd.ones(1)) == np.dtype(np.float32)


# --- check_consistency and the symbol checks ----------------------------------------------------

def _fc():
    return mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=3, name="fc")


def _ctx_list(*dtypes, shape=(2, 4)):
    return [{"ctx": mx.cpu(i % 2), "data": shape, "type_dict": {"data": t}} for i, t in enumerate(dtypes)]


def test_check_consistency_passes_across_cpu_contexts_and_dtypes():
    np.random.seed(0)
    gt = tu.check_consistency(_fc(), _ctx_list(np.float32, np.float64, np.float32))
    assert gt["fc_output"].dtype == np.float64  # the most precise executor is the ground truth
    assert set(gt) == {"fc_output", "data", "fc_weight", "fc_bias"}
    conv = mx.sym.Convolution(num_filter=3, kernel=(3, 3), name="conv")
    ctx_list = [{"ctx": mx.cpu(0), "conv_data": (2, 2, 10, 10), "type_dict": {"conv_data": t}} for t in (np.float64, np.float32)]
    tu.check_consistency(conv, ctx_list)
    for req in ("add", "null"):
        tu.check_consistency(_fc(), _ctx_list(np.float64, np.float32), grad_req=req)


def test_check_consistency_catches_a_wrong_forward_result():
    x = mx.sym.Variable("data")
    good, bad = mx.sym.broadcast_mul(x, x, name="out"), mx.sym.broadcast_mul(x, x * 1.01, name="out")
    with pytest.raises(AssertionError, match="exceeds tolerance"):
        tu.check_consistency([good, bad], _ctx_list(np.float64, np.float32))
    # raise_on_err=False reports and carries on.
    gt = tu.check_consistency([good, bad], _ctx_list(np.float64, np.float32), raise_on_err=False)
    assert "out_output" in gt


def test_check_consistency_catches_a_wrong_gradient(monkeypatch):
    real_backward = Executor.backward

    def wrong_in_float32(self, out_grads=None, is_train=True):
        real_backward(self, out_grads, is_train)
        if self.arg_dict["data"].dtype == np.float32:
            self.grad_dict["fc_weight"][:] *= 1.1

    monkeypatch.setattr(Executor, "backward", wrong_in_float32)
    with pytest.raises(AssertionError, match="exceeds tolerance"):
        tu.check_consistency(_fc(), _ctx_list(np.float64, np.float32))


def test_check_consistency_uses_given_params_and_ground_truth():
    data = np.arange(8.0).reshape(2, 4)
    params = {"data": data, "fc_weight": np.ones((3, 4)), "fc_bias": np.zeros(3)}
    gt = tu.check_consistency(_fc(), _ctx_list(np.float64, np.float32), arg_params=dict(params), grad_req="null")
    tu.assert_almost_equal(gt["fc_output"], data.sum(axis=1, keepdims=True).repeat(3, axis=1))
    wrong = {"fc_output": mx.nd.zeros((2, 3), dtype="float64")}
    with pytest.raises(AssertionError):
        tu.check_consistency(_fc(), _ctx_list(np.float64, np.float32), arg_params=dict(params), ground_truth=wrong,
                             grad_req="null")


def test_check_numeric_gradient_defaults_follow_the_dtype():
    x = mx.sym.Variable("x")
    np.random.seed(1)
    tu.check_numeric_gradient(mx.sym.tanh(x), {"x": np.random.uniform(-1, 1, (3, 2))}, dtype=np.float64)


def test_check_speed_returns_seconds_per_run():
    for typ in ("whole", "forward"):
        t = tu.check_speed(_fc(), ctx=mx.cpu(), N=2, typ=typ, data=(2, 4))
        assert 0 < t < 10
    loc = {"data": np.ones((2, 4)), "fc_weight": np.ones((3, 4)), "fc_bias": np.ones(3)}
    assert tu.check_speed(_fc(), location=loc, N=1) > 0
    with pytest.raises(ValueError):
        tu.check_speed(_fc(), N=1, typ="backward", data=(2, 4))


def test_simple_forward_and_symbol_structure():
    x = mx.sym.Variable("x")
    assert tu.simple_forward(x * 2, x=np.ones(3)).tolist() == [2.0, 2.0, 2.0]
    assert tu.same_symbol_structure(x * 2, mx.sym.Variable("y") * 3)
    assert not tu.same_symbol_structure(x * 2, mx.sym.exp(x))


def test_compare_optimizer():
    tu.compare_optimizer(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9), mx.optimizer.SGD(learning_rate=0.1, momentum=0.9),
                         (3, 4), np.float32)
    with pytest.raises(AssertionError):
        tu.compare_optimizer(mx.optimizer.SGD(learning_rate=0.1), mx.optimizer.SGD(learning_rate=0.5), (3, 4), np.float32)
    with pytest.raises(mx.MXNetError, match="dense storage only"):
        tu.compare_optimizer(mx.optimizer.SGD(), mx.optimizer.SGD(), (3, 4), np.float32, w_stype="row_sparse")


def test_check_gluon_hybridize_consistency():
    from rmx.gluon import nn

    def builder(prefix):
        net = nn.HybridSequential(prefix=prefix)
        with net.name_scope():
            net.add(nn.Dense(4, activation="tanh"), nn.Dense(2))
        return net

    data = [mx.nd.array(np.random.uniform(-1, 1, (3, 5)))]
    tu.check_gluon_hybridize_consistency(builder, data)
    with pytest.raises(AssertionError):
        tu.check_gluon_hybridize_consistency(builder, data, numpy_func=lambda x: np.zeros((3, 2)))


def test_same_array_detects_shared_memory():
    a = mx.nd.ones((2, 3))
    assert tu.same_array(a, a.reshape((2, 3)))
    assert not tu.same_array(a, a.copy())
    assert a.asnumpy().tolist() == [[1.0] * 3] * 2


def test_default_context_follows_set_default_context():
    assert tu.default_context() == mx.current_context()
    try:
        tu.set_default_context(mx.cpu(1))
        assert tu.default_context() == mx.cpu(1) == mx.current_context()
    finally:
        tu.set_default_context(mx.cpu(0))


# --- iterators, environment, stderr -------------------------------------------------------------

def test_dummy_iter_gives_the_first_batch_forever():
    real = mx.io.NDArrayIter(np.arange(12.0).reshape(6, 2), np.arange(6.0), batch_size=2)
    it = tu.DummyIter(real)
    assert it.batch_size == 2 and it.provide_data == real.provide_data and it.provide_label == real.provide_label
    batches = [next(it) for _ in range(10)]
    assert all(b is batches[0] for b in batches)
    assert batches[0].data[0].asnumpy().tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert iter(it) is it and it.next() is batches[0]


def test_discard_stderr_silences_fd_2(capfd):
    with tu.discard_stderr():
        os.write(2, b"hidden\n")
    os.write(2, b"shown\n")
    assert capfd.readouterr().err == "shown\n"


def test_environment_sets_and_restores(monkeypatch):
    monkeypatch.setenv("RMX_TU_A", "old")
    monkeypatch.delenv("RMX_TU_B", raising=False)
    with tu.environment({"RMX_TU_A": None, "RMX_TU_B": "new"}):
        assert "RMX_TU_A" not in os.environ and os.environ["RMX_TU_B"] == "new"
    assert os.environ["RMX_TU_A"] == "old" and "RMX_TU_B" not in os.environ


def test_retry_reruns_failing_tests():
    calls = []

    @tu.retry(3)
    def flaky():
        calls.append(1)
        assert len(calls) >= 2

    flaky()
    assert len(calls) == 2

    @tu.retry(2)
    def broken():
        raise AssertionError("always")

    with pytest.raises(AssertionError, match="always"):
        broken()


# --- random data and generator statistics -------------------------------------------------------

def test_random_helpers():
    np.random.seed(3)
    assert tu.random_sample(list(range(10)), 3) == (np.random.seed(3) or tu.random_sample(list(range(10)), 3))
    assert all(1 <= s <= 4 for s in tu.rand_shape_nd(5, dim=4))
    assert 0 in [v for _ in range(200) for v in tu.rand_shape_2d(1, 1, allow_zero_size=True)]
    arrs = tu.random_uniform_arrays((2, 3), (4,), low=2, high=3, dtype=np.float64)
    assert [a.shape for a in arrs] == [(2, 3), (4,)] and all(((a >= 2) & (a < 3)).all() for a in arrs)
    with pytest.raises(TypeError):
        tu.random_uniform_arrays((2,), bogus=1)
    x, y = tu.rand_coord_2d(0, 5, 10, 20)
    assert 0 <= x < 5 and 10 <= y < 20
    nd = tu.rand_ndarray((3, 4), dtype="float64")
    assert nd.shape == (3, 4) and nd.dtype == np.float64
    assert tu.random_arrays((2,), ()).__len__() == 2


def test_generator_checks_accept_the_right_distribution_and_reject_a_wrong_one():
    np.random.seed(5)
    normal = statistics.NormalDist()
    buckets, probs = tu.gen_buckets_probs_with_ppf(lambda p: normal.inv_cdf(min(max(p, 1e-12), 1 - 1e-12)), 5)
    tu.verify_generator(lambda n: np.random.normal(size=n), buckets, probs, nsamples=20000)
    with pytest.raises(AssertionError, match="Generator test fails"):
        tu.verify_generator(lambda n: np.random.normal(0.3, size=n), buckets, probs, nsamples=20000)
    p, obs, exp = tu.chi_square_check(lambda n: np.random.randint(0, 3, size=n), [0, 1, 2], [0.2, 0.3, 0.5], 3000)
    assert p < 1e-6 and obs.sum() == 3000 and exp.tolist() == [600, 900, 1500]
    assert tu.mean_check(lambda n: np.random.normal(2, 1, size=n), 2, 1, 10000)
    assert not tu.mean_check(lambda n: np.random.normal(2.5, 1, size=n), 2, 1, 10000)
    assert tu.var_check(lambda n: np.random.normal(0, 2, size=n), 2, 20000)
    assert not tu.var_check(lambda n: np.random.normal(0, 3, size=n), 2, 20000)


def test_chi_square_p_value_matches_known_quantiles():
    from rmx._test_utils_random import _chi2_sf

    for x, dof, p in [(3.841458820694124, 1, 0.05), (11.070497693516351, 5, 0.05), (0.554298076728276, 5, 0.99)]:
        assert _chi2_sf(x, dof) == pytest.approx(p, rel=1e-9)


def test_test_matrices():
    np.random.seed(7)
    m = tu.new_matrix_with_real_eigvals_nd((2, 4, 4))
    assert m.shape == (2, 4, 4) and np.allclose(np.linalg.eigvals(m).imag, 0)
    s = tu.new_sym_matrix_with_real_eigvals_nd((3, 3))
    assert np.allclose(s, s.T)
    q = tu.new_orthonormal_matrix_2d(4)
    assert np.allclose(q.T @ q, np.eye(4))


def test_array_builders():
    assert tu.create_vector(4).asnumpy().tolist() == [0, 1, 2, 3]
    assert tu.create_2d_tensor(3, 2).asnumpy().tolist() == [[0, 0], [1, 1], [2, 2]]
    assert tu.get_identity_mat(3).asnumpy().tolist() == np.eye(3).tolist()
    assert tu.get_identity_mat_batch(2).shape == (2, 2, 2)
    assert tu.assign_each(np.array([[1, 2]]), lambda v: v * 10).tolist() == [[10.0, 20.0]]
    assert tu.assign_each2(np.array([1, 2]), np.array([3, 4]), lambda a, b: a * b).tolist() == [3.0, 8.0]
    assert tu.collapse_sum_like(np.ones((2, 3)), (0,)).shape == (0,)
    assert tu.np_reduce(np.ones((2, 3, 4)), (0, 2), True, np.sum).tolist() == [[[8.0], [8.0], [8.0]]]


def test_what_rmx_lacks_raises_clearly():
    for call in (lambda: tu.rand_sparse_ndarray((2, 2), "csr"), lambda: tu.create_sparse_array((2, 2), "row_sparse"),
                 lambda: tu.create_sparse_array_zd((2, 2), "csr", 0.5), lambda: tu.rand_ndarray((2, 2), "csr")):
        with pytest.raises(mx.MXNetError, match="dense storage only"):
            call()
    with pytest.raises(mx.MXNetError, match="NumPy interface"):
        tu.use_np(lambda: None)()
    with pytest.raises(mx.MXNetError, match="NumPy interface"):
        tu.np_symbol()
    try:
        import scipy  # noqa: F401
    except ImportError:
        assert not tu.ss
        with pytest.raises(ModuleNotFoundError, match="'scipy'"):
            tu.ss.norm
    assert tu.has_tvm_ops() is False and tu.is_op_runnable() is True
    assert list(tu.list_gpus()) == list(range(mx.context.num_gpus()))


def test_shuffle_csr_column_indices_keeps_each_rows_columns():
    class CSR:
        indptr = np.array([0, 3, 3, 6])
        indices = np.array([0, 1, 2, 3, 4, 5])

    np.random.seed(2)
    csr = CSR()
    tu.shuffle_csr_column_indices(csr)
    assert sorted(csr.indices[:3]) == [0, 1, 2] and sorted(csr.indices[3:]) == [3, 4, 5]


def test_star_import_brings_mxnets_module_names():
    scope = {}
    exec("from rmx.test_utils import *", scope)
    for name in ("sys", "os", "np", "assert_almost_equal", "check_consistency", "default_context", "mx", "rnd"):
        assert name in scope, name


# --- downloads and data sets --------------------------------------------------------------------

def test_download_from_file_urls(tmp_path, capsys):
    src = tmp_path / "src.txt"
    src.write_text("hello")
    out = tu.download(src.as_uri(), dirname=str(tmp_path / "dl"))
    assert out == str(tmp_path / "dl" / "src.txt") and open(out).read() == "hello"
    src.write_text("changed")
    assert open(tu.download(src.as_uri(), dirname=str(tmp_path / "dl"))).read() == "hello"  # kept
    assert open(tu.download(src.as_uri(), dirname=str(tmp_path / "dl"), overwrite=True)).read() == "changed"
    with pytest.raises(OSError):
        tu.download((tmp_path / "missing").as_uri(), dirname=str(tmp_path / "dl"), retries=2)
    assert "1 attempt left" in capsys.readouterr().out
    assert not (tmp_path / "dl" / "missing").exists()


def test_zip_bz2_and_model_downloads(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("inner.txt", "zipped")
    tu.get_zip_data(str(tmp_path / "z"), archive.as_uri(), "a.zip")
    assert (tmp_path / "z" / "inner.txt").read_text() == "zipped"
    (tmp_path / "b.bz2").write_bytes(bz2.compress(b"line1\nline2\n"))
    tu.get_bz2_data(str(tmp_path / "b"), "out.txt", (tmp_path / "b.bz2").as_uri(), "b.bz2")
    assert (tmp_path / "b" / "out.txt").read_bytes() == b"line1\nline2\n" and not (tmp_path / "b" / "b.bz2").exists()
    (tmp_path / "m.json").write_text("{}")
    (tmp_path / "m.params").write_bytes(b"p")
    meta = {"m": {"symbol": (tmp_path / "m.json").as_uri(), "params": (tmp_path / "m.params").as_uri()}}
    prefix, epoch = tu.download_model("m", str(tmp_path / "models"), meta)
    assert epoch == 0 and os.path.exists(prefix + "-symbol.json") and os.path.exists(prefix + "-0000.params")
    assert tu.download_model("unknown", str(tmp_path / "models"), meta) == (None, 0)


def test_get_im2rec_path(monkeypatch, tmp_path):
    monkeypatch.delenv("MXNET_HOME", raising=False)
    assert tu.get_im2rec_path().endswith(os.path.join("rmx", "tools", "im2rec.py"))
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    with pytest.raises(IOError):
        tu.get_im2rec_path()


def _need_mnist():
    from rmx._test_utils_data import _MNIST_FILES, _find_mnist

    if any(_find_mnist(n) is None for n in _MNIST_FILES):
        pytest.skip("no local copy of MNIST")


def test_get_mnist_reads_a_local_copy():
    _need_mnist()
    mnist = tu.get_mnist()
    assert mnist["train_data"].shape == (60000, 1, 28, 28) and mnist["test_label"].shape == (10000,)
    assert mnist["train_data"].dtype == np.float32 and mnist["train_data"].max() == 1.0
    assert mnist["train_label"].dtype == np.int8 and set(np.unique(mnist["test_label"])) == set(range(10))


def test_get_mnist_iterator_in_a_fresh_directory(monkeypatch, tmp_path):
    _need_mnist()
    monkeypatch.chdir(tmp_path)
    train, val = tu.get_mnist_iterator(100, (784,))
    assert sorted(os.listdir(tmp_path / "data")) == sorted(
        ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte", "train-labels-idx1-ubyte"])
    batch = next(val)
    assert batch.data[0].shape == (100, 784) and batch.label[0].shape == (100,)
    assert next(train).data[0].shape == (100, 784)
