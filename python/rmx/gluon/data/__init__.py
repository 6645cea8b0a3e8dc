"""``rmx.gluon.data``: datasets, samplers and the DataLoader (``mxnet.gluon.data``).

- ``dataset``: ``Dataset`` and its lazy views, ``SimpleDataset``, ``ArrayDataset``;
- ``sampler``: ``SequentialSampler``, ``RandomSampler``, ``FilterSampler``, ``BatchSampler``,
  ``IntervalSampler``;
- ``dataloader``: ``DataLoader`` (batches in the caller, or by worker threads or processes);
- ``vision``: MNIST, FashionMNIST, CIFAR10/100 and image folders from local files, and
  ``vision.transforms``.

    >>> from rmx.gluon import data
    >>> loader = data.DataLoader(data.SimpleDataset(list(range(7))), batch_size=3, last_batch='discard')
    >>> [batch.asnumpy().tolist() for batch in loader]
    [[0, 1, 2], [3, 4, 5]]
"""

from .dataset import *  # noqa: F401,F403 - MXNet's flat namespace
from .sampler import *  # noqa: F401,F403
from .dataloader import *  # noqa: F401,F403
from . import vision  # noqa: F401
