"""rmx.base's C-API helpers, rmx.util's NumPy-semantics switches and rmx.runtime's features,
against what MXNet 1.9.1 does (feature names recorded from it in tests/fixtures/mxnet_api_names.json)."""

import ctypes
import json
import os
import threading

import numpy as np
import pytest

import rmx as mx

with open(os.path.join(os.path.dirname(__file__), "fixtures", "mxnet_api_names.json")) as _f:
    FIXTURE = json.load(_f)


# --- rmx.base ------------------------------------------------------------------------------------

def test_check_call_raises_mxnet_error_on_failure_codes():
    mx.base.check_call(0)
    for ret in (-1, 1):
        with pytest.raises(mx.MXNetError):
            mx.base.check_call(ret)


def test_check_call_reports_the_recorded_error_by_its_registered_class():
    mx.base._set_last_error("ShapeError: conv0 wants 4-d data\nStack trace:\n  [bt] (0) f\n  [bt] (1) g\n")
    try:
        with pytest.raises(mx.base.ShapeError, match="conv0 wants 4-d data") as info:
            mx.base.check_call(-1)
        assert str(info.value).startswith("Traceback (most recent call last):\n  [bt] (1) g\n  [bt] (0) f")
    finally:
        mx.base._set_last_error(None)


def test_register_error_and_c2pyerror():
    @mx.base.register_error("MyTestError")
    class Mine(mx.MXNetError):
        pass

    assert mx.base.error_types["MyTestError"] is Mine
    assert mx.base.c2pyerror("no colon here") == ("no colon here", None)
    assert mx.base.c2pyerror("bad name!: x")[1] is None


def test_ctypes_helpers():
    assert mx.base.c_str("é").value == "é".encode()
    arr = mx.base.c_array(mx.base.mx_uint, [3, 4])
    assert list(arr) == [3, 4] and arr._type_ is ctypes.c_uint
    handles = mx.base.c_handle_array([type("H", (), {"handle": ctypes.c_void_p(8)})()])
    assert handles[0] == 8
    with pytest.raises(TypeError):
        mx.base.ctypes2buffer(ctypes.c_int(1), 1)
    assert mx.base.mx_real_t is np.float32
    assert mx.base.NDArrayHandle is ctypes.c_void_p and mx.base.ExecutorHandle is ctypes.c_void_p


def test_type_tuples_are_mxnets():
    assert isinstance(np.int64(1), mx.base.integer_types)
    assert isinstance(np.float16(1), mx.base.numeric_types) and isinstance(2.0, mx.base.numeric_types)
    assert mx.base.string_types == (str,) and mx.base.basestring is str and mx.base.long is int


def test_data_dir_follows_mxnet_home(monkeypatch):
    monkeypatch.delenv("MXNET_HOME", raising=False)
    assert mx.base.data_dir() == os.path.join(os.path.expanduser("~"), ".mxnet") == mx.base.data_dir_default()
    monkeypatch.setenv("MXNET_HOME", "/tmp/somewhere")
    assert mx.base.data_dir() == "/tmp/somewhere"


def test_classproperty_with_setter_through_metaclass():
    class Conf(mx.base.with_metaclass(mx.base._MXClassPropertyMetaClass, object)):
        _value = 1

        @mx.base.classproperty
        def value(cls):
            return cls._value

        @value.setter
        def value(cls, v):
            cls._value = v

    assert Conf.value == 1
    Conf.value = 5
    assert Conf.value == 5 and Conf._value == 5

    class ReadOnly(mx.base.with_metaclass(mx.base._MXClassPropertyMetaClass, object)):
        @mx.base.classproperty
        def value(cls):
            return 0

    with pytest.raises(mx.MXNetError, match="cannot use the setter"):
        ReadOnly.value = 1


def test_not_supported_errors_name_the_function():
    err = mx.base.NotSupportedForSparseNDArray(np.sum, "sum", 1)
    assert str(err) == ("Function sum (namely operator \"sum\") with arguments (<class 'int'>) is not supported "
                        "for SparseNDArray and only available in NDArray.")
    assert isinstance(err, mx.MXNetError)


def test_libinfo_says_there_is_no_libmxnet():
    with pytest.raises(mx.MXNetError, match="rmx has no libmxnet.so"):
        mx.base.libinfo.find_lib_path()
    assert mx.libinfo.__version__ == "1.9.1"
    assert os.path.exists(mx.libinfo.extension_path())
    assert "DIST_KVSTORE" in mx.libinfo.features()


def test_build_param_doc_skips_duplicates_and_num_args():
    doc = mx.base.build_param_doc(["a", "a", "num_args"], ["int", "int", "int"], ["x", "y", "z"])
    assert doc == "Parameters\n----------\na : int\n    x\n"


# --- rmx.util --------------------------------------------------------------------------------------

def test_np_shape_scope_restores_state_even_on_error():
    assert not mx.util.is_np_shape()
    with pytest.raises(KeyError):
        with mx.np_shape(True):
            assert mx.is_np_shape()
            with mx.np_shape(False):
                assert not mx.is_np_shape()
            assert mx.is_np_shape()
            raise KeyError
    assert not mx.util.is_np_shape()
    with mx.np_shape(None):  # None leaves the state alone, as MXNet's scope
        assert not mx.util.is_np_shape()


def test_np_shape_is_per_thread():
    seen = []
    with mx.np_shape(True):
        t = threading.Thread(target=lambda: seen.append(mx.util.is_np_shape()))
        t.start()
        t.join()
    assert seen == [False]


def test_use_np_shape_on_a_class_scopes_methods_and_properties():
    @mx.use_np_shape
    class Thing:
        def method(self):
            return mx.util.is_np_shape()

        @property
        def prop(self):
            return mx.util.is_np_shape()

        @staticmethod
        def static():
            return mx.util.is_np_shape()

    t = Thing()
    assert (t.method(), t.prop, Thing.static()) == (True, True, True)
    assert not mx.util.is_np_shape()
    with pytest.raises(TypeError):
        mx.util.use_np_shape(3)


def test_numpy_array_semantics_raise_a_clear_error():
    for call in (lambda: mx.util.set_np(), lambda: mx.util.set_np(array=True), lambda: mx.np_array(True),
                 lambda: mx.util.use_np(lambda: 1)(), lambda: mx.use_np_array(lambda: 1)()):
        with pytest.raises(mx.MXNetError, match=r"does not implement MXNet's NumPy interface \(mx.np"):
            call()
    assert not mx.util.is_np_shape() and not mx.util.is_np_array()
    with pytest.raises(ValueError):
        mx.util.set_np(shape=False, array=True)


def test_set_np_without_arrays_and_reset_np():
    try:
        mx.util.set_np(shape=True, array=False)
        assert mx.util.is_np_shape() and not mx.util.is_np_array()
        with mx.np_array(False):
            assert not mx.is_np_array()
    finally:
        mx.util.reset_np()
    assert not mx.util.is_np_shape() and not mx.util.is_np_array()


def test_getenv_setenv(monkeypatch):
    monkeypatch.delenv("RMX_TEST_UTIL_ENV", raising=False)
    assert mx.util.getenv("RMX_TEST_UTIL_ENV") is None
    mx.util.setenv("RMX_TEST_UTIL_ENV", "x")
    assert os.environ["RMX_TEST_UTIL_ENV"] == "x" == mx.util.getenv("RMX_TEST_UTIL_ENV")
    mx.util.setenv("RMX_TEST_UTIL_ENV", None)
    assert "RMX_TEST_UTIL_ENV" not in os.environ


def test_gpu_queries():
    assert mx.util.get_gpu_count() == mx.context.num_gpus()
    with pytest.raises(ValueError, match="Expecting a gpu context"):
        mx.util.get_cuda_compute_capability(mx.cpu())
    if mx.util.get_gpu_count() > 0:
        assert mx.util.get_cuda_compute_capability(mx.gpu(0)) >= 30
        free, total = mx.util.get_gpu_memory(0)
        assert 0 < free <= total


def test_ufunc_wrappers_check_keywords():
    add = mx.util.wrap_np_binary_func(lambda a, b, out=None: a + b)
    assert add(1, 2, where=True, dtype=None) == 3
    with pytest.raises(TypeError, match="invalid keyword"):
        add(1, 2, axis=0)
    with pytest.raises(NotImplementedError):
        add(1, 2, dtype="float16")
    with pytest.raises(TypeError, match="not understood"):
        add(1, 2, dtype="complex64")
    assert mx.util.np_ufunc_legal_option("subok", False) and not mx.util.np_ufunc_legal_option("subok", 1)
    assert not mx.util.np_ufunc_legal_option("axis", 0)


# --- rmx.runtime -----------------------------------------------------------------------------------

def test_feature_names_are_mxnets_in_order():
    assert [f.name for f in mx.runtime.feature_list()] == FIXTURE["feature_names"]
    assert list(mx.runtime.Features().keys()) == FIXTURE["feature_names"]


def test_features_behave_as_mxnets():
    features = mx.runtime.Features()
    assert features is mx.runtime.Features()  # one shared instance
    assert features.is_enabled("dist_kvstore") is True
    assert features.is_enabled("CUDA") == (mx.context.num_gpus() > 0)
    assert not features.is_enabled("MKLDNN") and not features.is_enabled("TVM_OP")
    with pytest.raises(RuntimeError, match="Feature 'BOGUS' is unknown, known features are"):
        features.is_enabled("bogus")
    assert repr(features).startswith("[") and "✔ DIST_KVSTORE" in repr(features) and "✖ OPENCV" in repr(features)
    assert isinstance(features["CUDA"], mx.runtime.Feature)


def test_top_level_names():
    assert mx.use_np_shape is mx.util.use_np_shape and mx.np_shape is mx.util.np_shape
    import rmx.runtime
    import rmx.util

    assert mx.util is rmx.util and mx.runtime is rmx.runtime
    assert mx.set_np_shape is mx.util.set_np_shape and mx.use_np is mx.util.use_np
