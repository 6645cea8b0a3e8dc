"""``mx.nd.save`` / ``load`` / ``load_frombuffer`` in MXNet's binary format, byte for byte (the
format lives in the Rust crate ``rmx-graph``, ``ndarray_file.rs``)."""

from .. import _rmx
from ..base import FileError, InvalidArgumentError
from .ndarray import NDArray, _wrap


def save(fname, data):
    """Saves an NDArray, a list of them (loads as a list) or a str-keyed dict (loads as a dict)."""
    if isinstance(data, NDArray):
        data = [data]
    if isinstance(data, dict):
        names, arrays = list(data.keys()), list(data.values())
        if not all(isinstance(k, str) for k in names):
            raise InvalidArgumentError("save: dict keys must be strings")
    elif isinstance(data, (list, tuple)):
        names, arrays = [], list(data)
    else:
        raise InvalidArgumentError(f"save: expected an NDArray, a list or a dict, got {type(data).__name__}")
    if not all(isinstance(a, NDArray) for a in arrays):
        raise InvalidArgumentError("save: every value must be an NDArray")
    payload = _rmx.nd_save_bytes([a.handle for a in arrays], names)
    try:
        with open(fname, "wb") as f:
            f.write(payload)
    except OSError as e:
        raise FileError(f"save: cannot write {fname}: {e}") from e


def load_frombuffer(buf):
    handles, names = _rmx.nd_load_bytes(bytes(buf))
    arrays = [_wrap(h) for h in handles]
    return dict(zip(names, arrays)) if names else arrays


def load(fname):
    """Loads a file written by ``save`` (rmx's or MXNet's): a list, or a dict if it has names."""
    try:
        with open(fname, "rb") as f:
            data = f.read()
    except OSError as e:
        raise FileError(f"load: cannot read {fname}: {e}") from e
    return load_frombuffer(data)
