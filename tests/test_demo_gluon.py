"""The demo's Gluon path (`python -m rmx.examples.mnist --api gluon`) trains on the real MNIST
files: one epoch of the MLP, kept short for the suite (`make demo` runs the full LeNet)."""

import time

from rmx.examples import mnist


def test_gluon_mlp_learns_mnist_in_one_epoch():
    start = time.time()
    acc = mnist.main(["--api", "gluon", "--network", "mlp", "--num-epochs", "1", "--batch-size", "200",
                      "--lr", "0.1", "--disp-batches", "0"])
    assert acc > 0.93, acc
    assert time.time() - start < 60
