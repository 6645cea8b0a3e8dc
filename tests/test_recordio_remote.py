"""Remote RecordIO: ``s3://`` against a local S3-protocol server (moto's server mode) and
``http://`` against a local web server with range requests, both started and stopped here.
Remote reads must equal local reads, record for record and batch for batch, and a server that
is gone or silent must give an error within ``RMX_IO_TIMEOUT``, never a hang."""

import http.server
import os
import socket
import threading
import time

import numpy as np
import pytest

import rmx as mx


def _write(tmp_path, n=12):
    rec, idx = str(tmp_path / "data.rec"), str(tmp_path / "data.idx")
    w = mx.recordio.MXIndexedRecordIO(idx, rec, "w")
    rng = np.random.default_rng(0)
    for i in range(n):
        img = rng.integers(0, 255, (30 + i, 40, 3), dtype=np.uint8)
        w.write_idx(i, mx.recordio.pack_img(mx.recordio.IRHeader(0, float(i % 3), i, 0), img,
                                             img_fmt=".png"))
    w.close()
    return rec, idx


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with HEAD and single-range GET (206), as object stores do."""

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404)
            return
        with open(path, "rb") as f:
            data = f.read()
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            start, _, end = rng[len("bytes="):].partition("-")
            start = int(start)
            end = min(int(end) if end else len(data) - 1, len(data) - 1)
            body = data[start:end + 1]
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, len(data)))
        else:
            body = data
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def http_server(tmp_path):
    handler = lambda *a, **k: _RangeHandler(*a, directory=str(tmp_path), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def _records(r):
    out = []
    while True:
        s = r.read()
        if s is None:
            return out
        out.append(s)


def _batches(path, idx):
    it = mx.io.ImageRecordIter(path_imgrec=path, path_imgidx=idx, data_shape=(3, 24, 24),
                               batch_size=5, shuffle=True, seed=4, rand_crop=True)
    return [(b.data[0].asnumpy(), b.label[0].asnumpy(), b.pad) for b in it]


def _same(a, b):
    assert len(a) == len(b)
    for (d1, l1, p1), (d2, l2, p2) in zip(a, b):
        np.testing.assert_array_equal(d1, d2)
        np.testing.assert_array_equal(l1, l2)
        assert p1 == p2


def test_http_reads_equal_local_reads(tmp_path, http_server):
    rec, idx = _write(tmp_path)
    local = _records(mx.recordio.MXRecordIO(rec, "r"))
    remote = _records(mx.recordio.MXRecordIO(http_server + "/data.rec", "r"))
    assert remote == local and len(local) == 12
    r = mx.recordio.MXIndexedRecordIO(http_server + "/data.idx", http_server + "/data.rec", "r")
    assert r.keys == list(range(12))
    assert r.read_idx(7) == local[7]
    _same(_batches(http_server + "/data.rec", http_server + "/data.idx"), _batches(rec, idx))
    with pytest.raises(mx.base.MXNetError, match="read-only"):
        mx.recordio.MXRecordIO(http_server + "/new.rec", "w")


def test_missing_remote_file_is_a_file_error(http_server):
    with pytest.raises(mx.base.FileError, match="missing.rec"):
        mx.recordio.MXRecordIO(http_server + "/missing.rec", "r")


def test_a_silent_server_is_an_error_within_the_timeout(monkeypatch):
    # Accepts connections and never answers.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    monkeypatch.setenv("RMX_IO_TIMEOUT", "1.5")
    start = time.time()
    with pytest.raises(mx.base.FileError):
        mx.recordio.MXRecordIO("http://127.0.0.1:%d/x.rec" % sock.getsockname()[1], "r")
    assert time.time() - start < 15
    sock.close()


@pytest.fixture
def s3_server(monkeypatch):
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = "http://%s:%d" % (host, port)
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_REGION": "us-east-1", "AWS_ENDPOINT": endpoint,
                       "AWS_ALLOW_HTTP": "true"}.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket="rmx-data")
    yield client
    server.stop()


def test_s3_reads_equal_local_reads(tmp_path, s3_server):
    rec, idx = _write(tmp_path)
    s3_server.upload_file(rec, "rmx-data", "train/data.rec")
    s3_server.upload_file(idx, "rmx-data", "train/data.idx")
    local = _records(mx.recordio.MXRecordIO(rec, "r"))
    assert _records(mx.recordio.MXRecordIO("s3://rmx-data/train/data.rec", "r")) == local
    r = mx.recordio.MXIndexedRecordIO("s3://rmx-data/train/data.idx",
                                      "s3://rmx-data/train/data.rec", "r")
    assert r.read_idx(11) == local[11]
    _same(_batches("s3://rmx-data/train/data.rec", "s3://rmx-data/train/data.idx"),
          _batches(rec, idx))
    with pytest.raises(mx.base.FileError, match="nothere.rec"):
        mx.recordio.MXRecordIO("s3://rmx-data/nothere.rec", "r")
