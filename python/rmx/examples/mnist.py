"""Train LeNet (or an MLP) on MNIST and report test accuracy: rmx's main job (`make demo`).

    python -m rmx.examples.mnist [--api module|gluon] [--network lenet|mlp] [--num-epochs 5]
                                 [--batch-size 64] [--lr 0.05] [--lr-step-epochs 3]
                                 [--lr-factor 0.1] [--data-dir DIR] [--plot curve.png]
                                 [--rec-train TRAIN.rec --rec-test TEST.rec]

As MXNet's `example/image-classification/train_mnist.py`: `mx.io.MNISTIter` reads the idx files,
`mx.mod.Module.fit` trains with SGD and momentum, `mx.callback.Speedometer` logs throughput, and
the test set is scored after every epoch. The learning rate is multiplied by `--lr-factor` at
each epoch of `--lr-step-epochs`, as `train_mnist.py`'s `fit.py` does (a
`mx.lr_scheduler.MultiFactorScheduler` stepping every `ceil(60000 / batch_size)` updates). The
four MNIST files ship with the repository in `data/mnist/`. With `--rec-train`/`--rec-test` the
Module path reads RecordIO files made by `rmx.tools.im2rec` instead, through
`mx.io.ImageRecordIter` (see `rmx.examples.mnist_images` for making them).

`--api gluon` trains the same network written as a hybridized `gluon.nn.HybridSequential`, with
`gluon.data.vision.MNIST`, a `DataLoader`, `autograd.record()` and a `gluon.Trainer` (the same
optimizer, schedule and initialization), as MXNet 1.x's Gluon tutorials do.

On a terminal each epoch shows a progress bar with the log lines above it and ends with a summary
line (`rmx.progress`; `RMX_PROGRESS=0` hides it); redirected to a file, the output is the log
lines alone.
"""

import argparse
import logging
import math
import os
import time

import rmx as mx
from rmx import models


def default_data_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    for up in (3, 2):  # the repository root (editable install), or beside the package
        d = os.path.join(here, *([".."] * up), "data", "mnist")
        if os.path.exists(os.path.join(d, "train-images-idx3-ubyte.gz")):
            return os.path.normpath(d)
    return os.path.join(os.getcwd(), "data", "mnist")


def iterators(data_dir, batch_size, flat):
    def path(name):
        for candidate in (name, name + ".gz"):
            p = os.path.join(data_dir, candidate)
            if os.path.exists(p):
                return p
        raise SystemExit(f"MNIST file {name}(.gz) not found in {data_dir}; pass --data-dir")

    train = mx.io.MNISTIter(image=path("train-images-idx3-ubyte"), label=path("train-labels-idx1-ubyte"),
                            batch_size=batch_size, shuffle=True, flat=flat, seed=10)
    test = mx.io.MNISTIter(image=path("t10k-images-idx3-ubyte"), label=path("t10k-labels-idx1-ubyte"),
                           batch_size=batch_size, shuffle=False, flat=flat)
    return train, test


def rec_iterators(train_rec, test_rec, batch_size):
    """ImageRecordIters over im2rec's files, scaled as MNISTIter scales (1/256)."""
    def make(path, shuffle):
        idx = os.path.splitext(path)[0] + ".idx"
        return mx.io.ImageRecordIter(path_imgrec=path, path_imgidx=idx if os.path.exists(idx) else None,
                                     data_shape=(1, 28, 28), batch_size=batch_size, shuffle=shuffle, seed=10,
                                     scale=1.0 / 256, round_batch=False)
    return make(train_rec, True), make(test_rec, False)


class Curve:
    """Collects per-epoch accuracies for --plot."""

    def __init__(self):
        self.train, self.test = [], []

    def plot(self, path):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        epochs = range(1, len(self.train) + 1)
        plt.figure(figsize=(6, 4))
        plt.plot(epochs, self.train, "o-", label="train")
        plt.plot(epochs, self.test, "s-", label="test")
        plt.xlabel("epoch")
        plt.ylabel("accuracy")
        plt.legend()
        plt.grid(True, alpha=0.3)
        plt.tight_layout()
        plt.savefig(path)
        logging.info("saved the training curve to %s", path)


def lr_scheduler(lr, step_epochs, factor, batch_size, num_examples=60000):
    """MXNet's ``fit.py`` schedule: ``lr`` times ``factor`` after each epoch of ``step_epochs``
    (a comma-separated string); None without steps or with ``factor >= 1``."""
    epoch_size = math.ceil(num_examples / batch_size)
    steps = [epoch_size * int(e) for e in step_epochs.split(",") if e.strip() and int(e) > 0]
    if not steps or factor >= 1:
        return None
    return mx.lr_scheduler.MultiFactorScheduler(step=steps, factor=factor, base_lr=lr)


def gluon_net(network):
    """LeNet or the MLP of ``rmx.models``, as a Gluon block."""
    from rmx import gluon

    nn = gluon.nn
    net = nn.HybridSequential(prefix=network + "_")
    with net.name_scope():
        if network == "lenet":
            net.add(nn.Conv2D(20, 5, activation="tanh"), nn.MaxPool2D(2, 2), nn.Conv2D(50, 5, activation="tanh"),
                    nn.MaxPool2D(2, 2), nn.Flatten(), nn.Dense(500, activation="tanh"), nn.Dense(10))
        else:
            net.add(nn.Dense(128, activation="relu"), nn.Dense(64, activation="relu"), nn.Dense(10))
    return net


def train_gluon(a):
    """The Gluon twin of the Module path; returns the final test accuracy."""
    import numpy as np
    from rmx import autograd, gluon

    def arrays(train):
        ds = gluon.data.vision.MNIST(root=a.data_dir, train=train)
        images = ds._data.asnumpy().astype(np.float32).transpose(0, 3, 1, 2) / 255
        return gluon.data.ArrayDataset(images, ds._label.astype(np.float32))

    train_data = gluon.data.DataLoader(arrays(True), batch_size=a.batch_size, shuffle=True, last_batch="rollover")
    test_data = gluon.data.DataLoader(arrays(False), batch_size=500)
    net = gluon_net(a.network)
    net.initialize(mx.init.Xavier(factor_type="in", magnitude=2.34))
    net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {
        "learning_rate": a.lr, "momentum": a.momentum, "wd": 1e-4,
        "lr_scheduler": lr_scheduler(a.lr, a.lr_step_epochs, a.lr_factor, a.batch_size)})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()

    def score(loader):
        metric = mx.metric.Accuracy()
        for data, label in loader:
            metric.update([label], [net(data)])
        return metric.get()[1]

    acc = 0.0
    for epoch in range(a.num_epochs):
        tic, metric = time.time(), mx.metric.Accuracy()
        for i, (data, label) in enumerate(train_data):
            with autograd.record():
                out = net(data)
                loss = loss_fn(out, label)
            loss.backward()
            trainer.step(data.shape[0])
            metric.update([label], [out])
            if a.disp_batches and (i + 1) % a.disp_batches == 0:
                logging.info("Epoch[%d] Batch [%d] Train-accuracy=%f", epoch, i + 1, metric.get()[1])
        acc = score(test_data)
        logging.info("Epoch[%d] Train-accuracy=%f Validation-accuracy=%f Time cost=%.1f", epoch, metric.get()[1], acc, time.time() - tic)
    return acc


def main(argv=None):
    p = argparse.ArgumentParser(description="train a network on MNIST with rmx")
    p.add_argument("--api", choices=["module", "gluon"], default="module", help="mx.mod.Module.fit, or Gluon with autograd and a Trainer")
    p.add_argument("--network", choices=["lenet", "mlp"], default="lenet")
    p.add_argument("--num-epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--lr-step-epochs", default="3", help="epochs after which the learning rate drops (comma-separated)")
    p.add_argument("--lr-factor", type=float, default=0.1)
    p.add_argument("--data-dir", default=default_data_dir())
    p.add_argument("--plot", metavar="PNG", help="save a training curve (needs matplotlib)")
    p.add_argument("--disp-batches", type=int, default=100)
    p.add_argument("--rec-train", metavar="REC", help="train from this RecordIO file (made by rmx.tools.im2rec)")
    p.add_argument("--rec-test", metavar="REC", help="score on this RecordIO file")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    mx.random.seed(42)
    if a.api == "gluon":
        start = time.time()
        acc = train_gluon(a)
        logging.info("%s (gluon): test accuracy %.4f after %d epochs in %.0f s", a.network, acc, a.num_epochs, time.time() - start)
        print(f"test accuracy: {acc:.4f}")
        return acc
    net = models.get_model(a.network, num_classes=10)
    if a.rec_train or a.rec_test:
        if not (a.rec_train and a.rec_test):
            raise SystemExit("--rec-train and --rec-test go together")
        train, test = rec_iterators(a.rec_train, a.rec_test, a.batch_size)
    else:
        train, test = iterators(a.data_dir, a.batch_size, flat=a.network == "mlp")
    mod = mx.mod.Module(net, context=mx.cpu())
    curve = Curve()

    def record(epoch, symbol, arg, aux):
        curve.train.append(train_acc.get()[1])

    train_acc = mx.metric.Accuracy()
    start = time.time()
    mod.fit(train, eval_data=test, eval_metric=train_acc, validation_metric=mx.metric.Accuracy(), num_epoch=a.num_epochs,
            optimizer="sgd", optimizer_params={"learning_rate": a.lr, "momentum": a.momentum, "wd": 1e-4,
                                               "lr_scheduler": lr_scheduler(a.lr, a.lr_step_epochs, a.lr_factor, a.batch_size)},
            initializer=mx.init.Xavier(factor_type="in", magnitude=2.34),
            batch_end_callback=mx.callback.Speedometer(a.batch_size, a.disp_batches),
            epoch_end_callback=record,
            eval_end_callback=lambda param: curve.test.append(param.eval_metric.get()[1]))
    acc = mod.score(test, mx.metric.Accuracy())[0][1]
    logging.info("%s: test accuracy %.4f after %d epochs in %.0f s", a.network, acc, a.num_epochs, time.time() - start)
    print(f"test accuracy: {acc:.4f}")
    if a.plot:
        curve.plot(a.plot)
    return acc


if __name__ == "__main__":
    main()
