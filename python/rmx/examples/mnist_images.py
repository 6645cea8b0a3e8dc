"""Write MNIST as PNG files, one folder per digit, to try the RecordIO path end to end.

    python -m rmx.examples.mnist_images mnist_png                # mnist_png/{train,test}/<digit>/
    python -m rmx.tools.im2rec --list --recursive --no-shuffle mnist_train mnist_png/train
    python -m rmx.tools.im2rec --encoding .png --color 0 --num-thread 2 mnist_train mnist_png/train
    (the same for test) then
    python -m rmx.examples.mnist --rec-train mnist_train.rec --rec-test mnist_test.rec

PNG keeps the pixels exactly, so the demo trains on the very data `MNISTIter` gives.
"""

import argparse
import os

import numpy as np

from rmx import _rmx
from rmx.examples.mnist import default_data_dir
from rmx.io.native import read_idx


def write_split(data_dir, split, out, limit=None):
    """Writes ``out/<digit>/<index>.png`` for the ``train`` or ``t10k`` files; returns the count."""
    images = read_idx(os.path.join(data_dir, "%s-images-idx3-ubyte.gz" % split))
    labels = read_idx(os.path.join(data_dir, "%s-labels-idx1-ubyte.gz" % split))
    n = len(images) if limit is None else min(limit, len(images))
    for d in range(10):
        os.makedirs(os.path.join(out, str(d)), exist_ok=True)
    for i in range(n):
        img = np.ascontiguousarray(images[i].reshape(28, 28, 1))
        png = _rmx.imencode(img.tobytes(), img.shape, ".png", 1)
        with open(os.path.join(out, str(int(labels[i])), "%05d.png" % i), "wb") as f:
            f.write(png)
    return n


def main(argv=None):
    p = argparse.ArgumentParser(description="write MNIST as PNG folders")
    p.add_argument("out")
    p.add_argument("--data-dir", default=default_data_dir())
    p.add_argument("--limit", type=int, default=None, help="images per split (default: all)")
    a = p.parse_args(argv)
    for split, name in (("train", "train"), ("t10k", "test")):
        n = write_split(a.data_dir, split, os.path.join(a.out, name), a.limit)
        print("%s: %d images" % (os.path.join(a.out, name), n))


if __name__ == "__main__":
    main()
