"""``python -m rmx.tools.im2rec``: image lists (``.lst``) and RecordIO files (``.rec``/``.idx``)
from a folder of images, with the options of MXNet's ``tools/im2rec.py``.

Make a list of the images under ``ROOT`` (one label per sub-folder with ``--recursive``), then
pack the list into ``PREFIX.rec`` and ``PREFIX.idx``::

    python -m rmx.tools.im2rec --list --recursive data/train images/
    python -m rmx.tools.im2rec --resize 256 --quality 90 --num-thread 2 data/train images/

A list line is ``index<TAB>label...<TAB>relative/path``. Images are decoded, optionally
center-cropped to a square and resized (shorter edge), and re-encoded (JPEG ``--quality`` or
PNG compression) on ``--num-thread`` threads, which decode and encode in Rust in parallel;
records keep the list's order. Files that cannot be read are reported and skipped. Messages go
to stderr.
"""

import argparse
import os
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import _rmx, recordio

EXTS = [".jpeg", ".jpg", ".png"]


def list_image(root, recursive, exts):
    """Yields ``(index, relative path, label)`` of the images under ``root`` in sorted order;
    with ``recursive`` each sub-folder (in walk order) is a label."""
    i = 0
    if recursive:
        cat = {}
        for path, dirs, files in os.walk(root, followlinks=True):
            dirs.sort()
            files.sort()
            for fname in files:
                fpath = os.path.join(path, fname)
                suffix = os.path.splitext(fname)[1].lower()
                if os.path.isfile(fpath) and suffix in exts:
                    if path not in cat:
                        cat[path] = len(cat)
                    yield (i, os.path.relpath(fpath, root), cat[path])
                    i += 1
        for k, v in sorted(cat.items(), key=lambda x: x[1]):
            print(os.path.relpath(k, root), v, file=sys.stderr)
    else:
        for fname in sorted(os.listdir(root)):
            fpath = os.path.join(root, fname)
            suffix = os.path.splitext(fname)[1].lower()
            if os.path.isfile(fpath) and suffix in exts:
                yield (i, os.path.relpath(fpath, root), 0)
                i += 1


def write_list(path_out, image_list):
    """Writes ``index\\tlabel...\\tpath`` lines."""
    with open(path_out, "w") as fout:
        for item in image_list:
            line = "%d\t" % item[0]
            for j in item[2:]:
                line += "%f\t" % j
            line += "%s\n" % item[1]
            fout.write(line)


def make_list(args):
    """Writes ``PREFIX[_train|_val|_test].lst`` (and chunks) from the images under ``root``."""
    image_list = list(list_image(args.root, args.recursive, args.exts))
    if args.shuffle is True:
        random.seed(100)
        random.shuffle(image_list)
    n = len(image_list)
    chunk_size = (n + args.chunks - 1) // args.chunks
    for i in range(args.chunks):
        chunk = image_list[i * chunk_size:(i + 1) * chunk_size]
        str_chunk = "_%d" % i if args.chunks > 1 else ""
        sep = int(chunk_size * args.train_ratio)
        sep_test = int(chunk_size * args.test_ratio)
        if args.train_ratio == 1.0:
            write_list(args.prefix + str_chunk + ".lst", chunk)
        else:
            if args.test_ratio:
                write_list(args.prefix + str_chunk + "_test.lst", chunk[:sep_test])
            if args.train_ratio + args.test_ratio < 1.0:
                write_list(args.prefix + str_chunk + "_val.lst", chunk[sep_test + sep:])
            write_list(args.prefix + str_chunk + "_train.lst", chunk[sep_test:sep_test + sep])


def read_list(path_in):
    """Yields ``[index, path, label...]`` of a ``.lst`` file; bad lines are reported."""
    with open(path_in) as fin:
        for n, line in enumerate(fin, 1):
            line = [i.strip() for i in line.strip().split("\t")]
            if len(line) < 3:
                print("lst should have at least has three parts, but only has %s parts for %s"
                      % (len(line), line), file=sys.stderr)
                continue
            try:
                yield [int(line[0])] + [line[-1]] + [float(i) for i in line[1:-1]]
            except ValueError as err:
                print("Parsing lst met error for %s, detail: %s (line %d)" % (line, err, n),
                      file=sys.stderr)


def _channels(color, data):
    if color == 0:
        return 1
    if color == 1:
        return 3
    return 1 if recordio._is_gray(data) else 3


def image_encode(args, item):
    """The packed record of list item ``item``, or None (with a message) when it cannot be read."""
    fullpath = os.path.join(args.root, item[1])
    if len(item) > 3 and args.pack_label:
        header = recordio.IRHeader(0, item[2:], item[0], 0)
    else:
        header = recordio.IRHeader(0, item[2], item[0], 0)
    try:
        with open(fullpath, "rb") as fin:
            data = fin.read()
    except OSError as err:
        print("imread error: %s (%s)" % (fullpath, err), file=sys.stderr)
        return None
    if args.pass_through:
        return recordio.pack(header, data)
    try:
        pixels, h, w, c = _rmx.imdecode(data, _channels(args.color, data))
    except Exception as err:  # noqa: BLE001 - a broken file is skipped, reported
        print("imread error, skipping %s: %s" % (fullpath, err), file=sys.stderr)
        return None
    img = np.frombuffer(pixels, np.uint8).reshape(h, w, c)
    if args.center_crop:
        if h > w:
            margin = (h - w) // 2
            img = img[margin:margin + w]
        elif w > h:
            margin = (w - h) // 2
            img = img[:, margin:margin + h]
        img = np.ascontiguousarray(img)
        h, w = img.shape[:2]
    if args.resize:
        if h > w:
            newsize = (args.resize, h * args.resize // w)
        else:
            newsize = (w * args.resize // h, args.resize)
        pixels, h, w, c = _rmx.imresize(img.tobytes(), img.shape, newsize[1], newsize[0], 1)
        img = np.frombuffer(pixels, np.uint8).reshape(h, w, c)
    quality = args.quality
    buf = _rmx.imencode(np.ascontiguousarray(img).tobytes(), img.shape, args.encoding, quality)
    return recordio.pack(header, buf)


def make_rec(args, path_lst):
    """Packs the images of ``path_lst`` into ``.rec``/``.idx`` beside it."""
    items = list(read_list(path_lst))
    base = os.path.splitext(path_lst)[0]
    record = recordio.MXIndexedRecordIO(base + ".idx", base + ".rec", "w")
    bar = _bar(len(items), os.path.basename(base) + ".rec")
    start = time.time()
    written = 0
    with ThreadPoolExecutor(max(1, args.num_thread)) as pool:
        # map keeps the list's order; the threads decode and encode in parallel (in Rust).
        for item, packed in zip(items, pool.map(lambda it: image_encode(args, it), items)):
            if packed is not None:
                record.write_idx(item[0], packed)
                written += 1
            if bar is not None:
                bar.update(1)
            elif written % 1000 == 0 and written:
                print("time: %.2f count: %d" % (time.time() - start, written), file=sys.stderr)
    if bar is not None:
        bar.close()
    record.close()
    print("%s: %d of %d images written in %.1fs" % (base + ".rec", written, len(items),
                                                   time.time() - start), file=sys.stderr)


def _bar(total, desc):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="img", disable=not sys.stderr.isatty())


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Create an image list and/or a RecordIO file from images.")
    parser.add_argument("prefix", help="prefix of the .lst and .rec files, or a folder of .lst")
    parser.add_argument("root", help="folder holding the images")
    cgroup = parser.add_argument_group("Options for creating image lists")
    cgroup.add_argument("--list", action="store_true",
                        help="make an image list instead of a .rec file")
    cgroup.add_argument("--exts", nargs="+", default=EXTS, help="image extensions to list")
    cgroup.add_argument("--chunks", type=int, default=1, help="number of chunks")
    cgroup.add_argument("--train-ratio", type=float, default=1.0, help="share for training")
    cgroup.add_argument("--test-ratio", type=float, default=0, help="share for testing")
    cgroup.add_argument("--recursive", action="store_true",
                        help="one label per sub-folder, walked recursively")
    cgroup.add_argument("--no-shuffle", dest="shuffle", action="store_false",
                        help="keep the listing order (shuffled with seed 100 by default)")
    rgroup = parser.add_argument_group("Options for creating database")
    rgroup.add_argument("--pass-through", action="store_true",
                        help="store the files' bytes unchanged")
    rgroup.add_argument("--resize", type=int, default=0,
                        help="resize the shorter edge to this (0: keep)")
    rgroup.add_argument("--center-crop", action="store_true",
                        help="crop the centre square first")
    rgroup.add_argument("--quality", type=int, default=95,
                        help="JPEG quality (1-100) or PNG compression (0-9)")
    rgroup.add_argument("--num-thread", type=int, default=1, help="encoding threads")
    rgroup.add_argument("--color", type=int, default=1, choices=[-1, 0, 1],
                        help="1 colour, 0 gray, -1 as stored")
    rgroup.add_argument("--encoding", type=str, default=".jpg", choices=[".jpg", ".png"],
                        help="encoding of the stored images")
    rgroup.add_argument("--pack-label", action="store_true",
                        help="store every label of a multi-label list")
    args = parser.parse_args(argv)
    args.prefix = os.path.abspath(args.prefix)
    args.root = os.path.abspath(args.root)
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.list:
        make_list(args)
        return 0
    if os.path.isdir(args.prefix):
        working_dir = args.prefix
        files = sorted(os.path.join(working_dir, f) for f in os.listdir(working_dir)
                       if f.endswith(".lst"))
    else:
        working_dir = os.path.dirname(args.prefix)
        prefix = os.path.basename(args.prefix)
        files = sorted(os.path.join(working_dir, f) for f in os.listdir(working_dir)
                       if f.startswith(prefix) and f.endswith(".lst"))
    if not files:
        print("no .lst file found for %s; make one with --list" % args.prefix, file=sys.stderr)
        return 1
    for fname in files:
        print("Creating .rec file from", fname, "in", working_dir, file=sys.stderr)
        make_rec(args, fname)
    return 0


if __name__ == "__main__":
    sys.exit(main())
