"""Metrics of probabilities and losses: cross-entropy, negative log-likelihood, perplexity, and
``Loss`` (with its ``Torch`` and ``Caffe`` aliases), the mean of outputs that are losses."""

import math

import numpy

from ..ndarray import NDArray
from .metric import EvalMetric, _np, _output_pairs, alias, register


@register
class Perplexity(EvalMetric):
    """``exp(mean(-log p[label]))`` over the predictions' class axis ``axis``; labels equal to
    ``ignore_label`` count neither in the sum nor in the number of instances."""

    def __init__(self, ignore_label, axis=-1, name="perplexity",
                 output_names=None, label_names=None):
        super().__init__(name, ignore_label=ignore_label, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.ignore_label = ignore_label
        self.axis = axis

    def update(self, labels, preds):
        if len(labels) != len(preds):
            raise AssertionError("%d labels but %d predictions" % (len(labels), len(preds)))
        loss = 0.0
        num = 0
        for label, pred in zip(labels, preds):
            pred = _np(pred)
            label = _np(label)
            if label.size != pred.size / pred.shape[self.axis]:
                raise AssertionError("shape mismatch: %s vs. %s" % (label.shape, pred.shape))
            label = label.reshape((label.size,))
            classes = numpy.moveaxis(pred, self.axis, -1).reshape(label.size, -1)
            picked = classes[numpy.arange(label.size),
                             numpy.clip(label.astype("int64"), 0, classes.shape[1] - 1)]
            if self.ignore_label is not None:
                ignore = (label == self.ignore_label).astype(picked.dtype)
                num -= int(ignore.sum())
                picked = picked * (1 - ignore) + ignore
            floor = numpy.asarray(1e-10, dtype=picked.dtype)
            loss -= float(numpy.log(numpy.maximum(floor, picked)).sum(dtype=numpy.float64))
            num += picked.size
        self._add(loss, num)

    def get(self):
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.sum_metric / self.num_inst))

    def get_global(self):
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.global_sum_metric / self.global_num_inst))


class _NegLogProbMetric(EvalMetric):
    """The mean of ``-log(p[label] + eps)`` over samples, predictions being probabilities of
    shape (batch, classes): MXNet's cross-entropy and negative log-likelihood, one computation
    under two names."""

    def __init__(self, eps, name, output_names, label_names):
        super().__init__(name, eps=eps, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.eps = eps

    def update(self, labels, preds):
        for label, pred in _output_pairs(labels, preds):
            label = _np(label).ravel()
            pred = _np(pred)
            if label.shape[0] != pred.shape[0]:
                raise AssertionError((label.shape[0], pred.shape[0]))
            prob = pred[numpy.arange(label.shape[0], dtype=numpy.int64), numpy.int64(label)]
            self._add((-numpy.log(prob + self.eps)).sum(), label.shape[0])


@register
@alias("ce")
class CrossEntropy(_NegLogProbMetric):
    """Mean of ``-log(p[label] + eps)`` over samples (predictions are probabilities, shape
    (batch, classes))."""

    def __init__(self, eps=1e-12, name="cross-entropy", output_names=None, label_names=None):
        super().__init__(eps, name, output_names, label_names)


@register
@alias("nll_loss")
class NegativeLogLikelihood(_NegLogProbMetric):
    """Mean negative log-likelihood ``-log(p[label] + eps)`` over samples."""

    def __init__(self, eps=1e-12, name="nll-loss", output_names=None, label_names=None):
        super().__init__(eps, name, output_names, label_names)


@register
class Loss(EvalMetric):
    """The mean of the outputs themselves (for networks whose outputs are losses); labels are
    ignored, so ``update(None, preds)`` works."""

    def __init__(self, name="loss", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, _, preds):
        if isinstance(preds, NDArray):
            preds = [preds]
        for pred in preds:
            pred = _np(pred)
            self._add(float(pred.sum()), pred.size)


@register
class Torch(Loss):
    """Dummy metric for torch criterions (a :class:`Loss` named ``torch``)."""

    def __init__(self, name="torch", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names)


@register
class Caffe(Loss):
    """Dummy metric for caffe criterions (a :class:`Loss` named ``caffe``)."""

    def __init__(self, name="caffe", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names)
