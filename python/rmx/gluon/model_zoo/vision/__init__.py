"""Image classification models (``mx.gluon.model_zoo.vision``), as MXNet 1.9.1 defines them:
AlexNet, DenseNet, Inception V3, ResNet V1 and V2, SqueezeNet, VGG, MobileNet and MobileNetV2.

Each net is built layer by layer in MXNet's order and name scopes, so its parameter names
(``collect_params()``, and the structural names ``save_parameters`` writes) are MXNet's and a
parameter file saved by MXNet loads with ``load_parameters``. ``pretrained=True`` loads the
published weights from the local model store (see ``model_store``); rmx does not download them.

The pretrained nets expect (N, 3, H, W) RGB images scaled to [0, 1] and normalized with mean
(0.485, 0.456, 0.406) and standard deviation (0.229, 0.224, 0.225); H and W at least 224 (299
for Inception V3).

    >>> import rmx as mx
    >>> from rmx.gluon.model_zoo import vision
    >>> net = vision.get_model('resnet18_v1', classes=10, thumbnail=True)
    >>> net.initialize()
    >>> net(mx.nd.zeros((1, 3, 32, 32))).shape
    (1, 10)
"""

# The modules first: the star imports then shadow ``alexnet`` (module) with ``alexnet``
# (function), as in MXNet.
from . import alexnet as _alexnet, densenet as _densenet, inception as _inception, mobilenet as _mobilenet
from . import resnet as _resnet, squeezenet as _squeezenet, vgg as _vgg
from .alexnet import *  # noqa: F401,F403 (each module's __all__, as MXNet's vision)
from .densenet import *  # noqa: F401,F403
from .inception import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .squeezenet import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403
from .mobilenet import *  # noqa: F401,F403

__all__ = (["get_model"] + _alexnet.__all__ + _densenet.__all__ + _inception.__all__ + _resnet.__all__
           + _squeezenet.__all__ + _vgg.__all__ + _mobilenet.__all__)

# The names ``get_model`` takes (those of the model store), in MXNet's order.
_models = {"resnet18_v1": resnet18_v1, "resnet34_v1": resnet34_v1, "resnet50_v1": resnet50_v1,
           "resnet101_v1": resnet101_v1, "resnet152_v1": resnet152_v1,
           "resnet18_v2": resnet18_v2, "resnet34_v2": resnet34_v2, "resnet50_v2": resnet50_v2,
           "resnet101_v2": resnet101_v2, "resnet152_v2": resnet152_v2,
           "vgg11": vgg11, "vgg13": vgg13, "vgg16": vgg16, "vgg19": vgg19,
           "vgg11_bn": vgg11_bn, "vgg13_bn": vgg13_bn, "vgg16_bn": vgg16_bn, "vgg19_bn": vgg19_bn,
           "alexnet": alexnet,
           "densenet121": densenet121, "densenet161": densenet161, "densenet169": densenet169,
           "densenet201": densenet201,
           "squeezenet1.0": squeezenet1_0, "squeezenet1.1": squeezenet1_1,
           "inceptionv3": inception_v3,
           "mobilenet1.0": mobilenet1_0, "mobilenet0.75": mobilenet0_75, "mobilenet0.5": mobilenet0_5,
           "mobilenet0.25": mobilenet0_25,
           "mobilenetv2_1.0": mobilenet_v2_1_0, "mobilenetv2_0.75": mobilenet_v2_0_75,
           "mobilenetv2_0.5": mobilenet_v2_0_5, "mobilenetv2_0.25": mobilenet_v2_0_25}


def get_model(name, **kwargs):
    """The model ``name`` (case-insensitive: 'resnet50_v1', 'vgg16_bn', 'squeezenet1.1',
    'inceptionv3', 'mobilenetv2_0.25' ...). Keyword arguments go to the model's function:
    ``pretrained`` (bool), ``ctx`` (where pretrained weights go), ``root`` (the model store,
    default ``$MXNET_HOME/models``), ``classes``, and model-specific ones (``thumbnail``)."""
    name = name.lower()
    if name not in _models:
        raise ValueError("Model %s is not supported. Available options are\n\t%s" % (
            name, "\n\t".join(sorted(_models.keys()))))
    return _models[name](**kwargs)
