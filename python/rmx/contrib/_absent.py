"""The contrib modules rmx does not have: each name exists and raises on use, naming why."""

import types

from ..base import MXNetError

_WHY = {
    "onnx": "ONNX import and export need the onnx package and MXNet's converters, which rmx does not include",
    "quantization": "rmx has no int8 quantization (MXNet's needs its MKL-DNN or TensorRT build)",
    "quant": "rmx has no int8 quantization (MXNet's needs its MKL-DNN or TensorRT build)",
    "tensorboard": "rmx does not bundle a TensorBoard writer; log metrics with a callback",
    "text": "rmx does not include MXNet's text embeddings and vocabularies (contrib.text)",
}


class _Absent(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise MXNetError(f"mx.contrib.{self.__name__.rsplit('.', 1)[-1]}.{name}: {_WHY[self.__name__.rsplit('.', 1)[-1]]}")


onnx, quant, quantization, tensorboard, text = (_Absent(f"{__package__}.{n}") for n in ("onnx", "quant", "quantization", "tensorboard", "text"))
