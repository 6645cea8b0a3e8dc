"""Evaluation metrics (``mx.metric``), as in MXNet 1.9.1.

A metric accumulates ``sum_metric`` and ``num_inst`` over ``update(labels, preds)`` calls
(lists of NDArrays, one per output) and reports ``sum_metric / num_inst`` (nan before any
instance). Metrics with global statistics keep a second pair, ``global_sum_metric`` and
``global_num_inst``, that ``reset_local()`` leaves alone (``get_global()`` reads it).

The accumulation rules are MXNet's, because logs and tests compare against them:

* ``Accuracy``, ``TopKAccuracy``, ``CrossEntropy``, ``NegativeLogLikelihood``: one instance
  per sample (per element for ``Accuracy``);
* ``MAE``, ``MSE``, ``RMSE``, ``PearsonCorrelation`` (macro): one instance per *batch*: the
  value is the mean of per-batch means;
* ``F1``, ``MCC``: ``average='macro'`` averages per-update scores, ``'micro'`` scores all
  samples seen;
* ``Perplexity``: ``exp`` of the mean negative log-probability, ignoring ``ignore_label``;
* ``Loss``: the mean of all output elements.

The package: ``metric.py`` the base class, the registry, ``create`` and the composite and custom
metrics; ``classification.py``, ``regression.py`` and ``loss.py`` the metrics of each kind.
"""

from .metric import (CompositeEvalMetric, CustomMetric, EvalMetric, alias, check_label_shapes,
                     create, np, register)
from .classification import MCC, PCC, F1, Accuracy, TopKAccuracy
from .regression import MAE, MSE, RMSE, PearsonCorrelation
from .loss import Caffe, CrossEntropy, Loss, NegativeLogLikelihood, Perplexity, Torch

__all__ = [
    "EvalMetric", "CompositeEvalMetric", "Accuracy", "TopKAccuracy", "F1", "MCC", "Perplexity",
    "MAE", "MSE", "RMSE", "CrossEntropy", "NegativeLogLikelihood", "PearsonCorrelation", "PCC",
    "Loss", "Torch", "Caffe", "CustomMetric", "np", "create", "register", "alias",
    "check_label_shapes",
]
