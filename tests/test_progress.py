"""The training progress display (`rmx.progress`) driven with a fake terminal.

A terminal is a `FakeTTY` (a StringIO whose isatty() is True); `screen()` replays what was written
to it as a terminal would (carriage returns overwrite, newlines move down), so a log line printed
into a bar, or a bar's leftovers, show up as mixed lines. Not a terminal: the output must be the
log lines alone, byte for byte what MXNet prints.
"""

import io
import logging
import re
import sys

import numpy as np
import pytest

import rmx as mx
from rmx import progress

tqdm = pytest.importorskip("tqdm")

# MXNet's log lines, as users grep them.
NUM = r"([\d.]+|nan)"  # a metric is nan right after Speedometer reset it, as in MXNet
MXNET_LINE = re.compile(r"^(Epoch\[\d+\] Batch \[\d+-\d+\]\tSpeed: [\d.]+ samples/sec(\t\S+=%s)+"
                        r"|Epoch\[\d+\] Train-\S+=%s"
                        r"|Epoch\[\d+\] Time cost=[\d.]+"
                        r"|Epoch\[\d+\] Validation-\S+=%s)$" % (NUM, NUM, NUM))
SUMMARY = re.compile(r"^Epoch\[\d+\]( train \S+=[\d.]+)+( validation \S+=[\d.]+)* time=[\d.]+s$")
BAR = re.compile(r"(\d+)%\|.*\| (\d+)/(\d+) \[")


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def screen(text):
    """The lines a terminal shows after receiving ``text`` (trailing blanks dropped)."""
    lines, row, col = [[]], 0, 0
    for ch in text.replace("\x1b[A", "\x00"):
        if ch == "\x00":  # cursor up
            row = max(0, row - 1)
        elif ch == "\r":
            col = 0
        elif ch == "\n":
            row, col = row + 1, 0
            if row == len(lines):
                lines.append([])
        else:
            line = lines[row]
            line[col:col + 1] = [ch]
            col += 1
    return ["".join(line).rstrip() for line in lines]


def frames(text):
    """Every state a bar was drawn in (the text between carriage returns)."""
    return [m for m in re.split(r"[\r\n]", text) if BAR.search(m) or " batches [" in m]


class Metric:
    def __init__(self, value=0.5):
        self.value = value

    def get_name_value(self):
        return [("accuracy", self.value)]


@pytest.fixture
def console(monkeypatch):
    """A terminal with the root logger writing MXNet's lines to it. (Tests that need it as
    sys.stderr set that themselves: pytest's capture replaces sys.stderr after fixtures run.)"""
    monkeypatch.delenv("RMX_PROGRESS", raising=False)
    term = FakeTTY()
    root = logging.getLogger()
    handler = logging.StreamHandler(term)
    handler.setFormatter(logging.Formatter("%(message)s"))
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield term, handler
    root.removeHandler(handler)
    root.setLevel(old_level)


def run_epoch(stream, total=10, batches=10, log_every=3, validate=4, **kw):
    """One epoch of the display: ``batches`` batches with a log line every ``log_every``, then
    MXNet's epoch lines and a validation of ``validate`` batches."""
    metric = Metric()
    with progress.EpochProgress(0, total=total, batch_size=64, stream=stream, **kw) as p:
        for i in range(batches):
            p.batch_end(metric)
            if i % log_every == 0:
                logging.info("Epoch[0] Batch [%d-%d]\tSpeed: 100.00 samples/sec\taccuracy=0.500000", i, i + 1)
        p.train_end(metric)
        logging.info("Epoch[0] Train-accuracy=%f", 0.5)
        logging.info("Epoch[0] Time cost=%.3f", 1.0)
        if validate:
            callbacks = p.validation(list(range(validate)))
            for _ in range(validate):
                for cb in callbacks:
                    cb(None)
            logging.info("Epoch[0] Validation-accuracy=%f", 0.75)
            p.validation_end([("accuracy", 0.75)])
    return p


def test_log_lines_and_bar_never_share_a_line(console):
    term, _ = console
    run_epoch(term)
    text = term.getvalue()
    assert frames(text), "no bar was drawn on the terminal"
    shown = [line for line in screen(text) if line]
    # every line left on screen is a whole log line or the summary: no bar, no bar leftovers
    assert all(MXNET_LINE.match(line) or SUMMARY.match(line) for line in shown), shown
    assert len([line for line in shown if "Speed:" in line]) == 4
    assert SUMMARY.match(shown[-1]) and "train accuracy=0.5000" in shown[-1]
    assert "validation accuracy=0.7500" in shown[-1]
    # and at no moment was a log line written into a drawn bar: each starts a cleared line
    for m in re.finditer(r"Epoch\[0\] (Batch|Train|Time|Validation)", text):
        before = text[:m.start()]
        assert before == "" or before.endswith("\n") or re.search(r"\r *\r$", before), before[-80:]


def test_totals_and_percentages(console):
    term, _ = console
    run_epoch(term, total=10, batches=10, validate=4)
    shown = frames(term.getvalue())
    for f in shown:
        pct, n, total = map(int, BAR.search(f).groups())
        assert pct == round(100 * n / total), f
        assert re.search(r"(\d+|\?) samples/s", f), f
    train = [f for f in shown if f.startswith("Epoch[0]:")]
    valid = [f for f in shown if f.startswith("Epoch[0] validation:")]
    assert "100%" in train[-1] and "10/10" in train[-1] and "accuracy=0.5000" in train[-1]
    assert "100%" in valid[-1] and "4/4" in valid[-1] and "accuracy=0.7500" in valid[-1]
    assert all("/10 " in f for f in train) and all("/4 " in f for f in valid)


def test_unknown_total_counts_without_percentage(console):
    term, _ = console
    run_epoch(term, total=None, batches=5, validate=0)
    shown = frames(term.getvalue())
    assert shown and all("%" not in f for f in shown)
    assert shown[-1].startswith("Epoch[0]: 5 batches [")


def test_not_a_terminal_prints_only_the_log_lines(monkeypatch):
    monkeypatch.delenv("RMX_PROGRESS", raising=False)
    log = io.StringIO()  # a file, a pipe, CI
    monkeypatch.setattr(sys, "stderr", log)
    root = logging.getLogger()
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        run_epoch(log)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    text = log.getvalue()
    assert "\r" not in text and "%|" not in text and "samples/s " not in text
    lines = text.splitlines()
    assert len(lines) == 4 + 3 and all(MXNET_LINE.match(line) for line in lines), lines


@pytest.mark.parametrize("how", ["env", "kwarg"])
def test_progress_off(console, monkeypatch, how):
    term, _ = console
    if how == "env":
        monkeypatch.setenv("RMX_PROGRESS", "0")
        run_epoch(term)
    else:
        run_epoch(term, progress=False)
    lines = term.getvalue().splitlines()
    assert "\r" not in term.getvalue() and all(MXNET_LINE.match(line) for line in lines), lines


def test_enabled_reads_rmx_progress(monkeypatch, capsys):
    for value, want in [("0", False), ("off", False), ("1", True), ("", True)]:
        monkeypatch.setenv("RMX_PROGRESS", value)
        assert progress.enabled() is want
    assert progress.enabled(True) is True and progress.enabled(False) is False
    monkeypatch.setenv("RMX_PROGRESS", "maybe")
    assert progress.enabled() is True
    assert "RMX_PROGRESS" in capsys.readouterr().err


def test_handlers_are_restored_and_files_untouched(console, tmp_path):
    term, handler = console
    path = tmp_path / "train.log"
    file_handler = logging.FileHandler(path)
    file_handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(file_handler)
    before = list(root.handlers)
    try:
        p = run_epoch(term)
        assert root.handlers == before and logging.lastResort.__class__.__name__ != "_AboveBar"
    finally:
        root.removeHandler(file_handler)
        file_handler.close()
    assert p.mode == "terminal"
    lines = path.read_text().splitlines()
    assert len(lines) == 7 and all(MXNET_LINE.match(line) for line in lines), lines


def test_logging_configured_mid_epoch_stays_above_the_bar(monkeypatch):
    """With no handler at all, the first logging.warning() would add one (basicConfig) while the
    bar is shown; the display adds it first, so that one too writes above the bar."""
    monkeypatch.delenv("RMX_PROGRESS", raising=False)
    term = FakeTTY()
    monkeypatch.setattr(sys, "stderr", term)
    monkeypatch.setattr(logging.root, "handlers", [])
    with progress.EpochProgress(0, total=4, batch_size=2) as p:
        for i in range(4):
            p.batch_end(Metric())
            logging.warning("batch %d", i)
        p.train_end(Metric())
    shown = [line for line in screen(term.getvalue()) if line]
    assert shown[:4] == ["WARNING:root:batch %d" % i for i in range(4)] and SUMMARY.match(shown[4])
    assert len(shown) == 5


def test_an_error_leaves_no_bar_and_no_summary(console):
    term, _ = console
    root = logging.getLogger()
    before = list(root.handlers)
    with pytest.raises(KeyboardInterrupt):
        with progress.EpochProgress(0, total=10, batch_size=4, stream=term) as p:
            p.batch_end(Metric())
            raise KeyboardInterrupt
    assert root.handlers == before
    assert [line for line in screen(term.getvalue()) if line] == []


def test_notebook_uses_tqdm_auto_and_prints_the_summary(console, monkeypatch, capsys):
    import tqdm.auto
    import tqdm.std

    made = []

    class Widget(tqdm.std.tqdm):  # stands in for tqdm.notebook's widget bar
        def __init__(self, *args, **kw):
            made.append(kw)
            super().__init__(*args, file=io.StringIO(), **kw)

    monkeypatch.setattr(tqdm.auto, "tqdm", Widget)
    monkeypatch.setattr(progress, "_in_notebook", lambda: True)
    term, _ = console
    root = logging.getLogger()
    before = list(root.handlers)
    with progress.EpochProgress(0, total=3, batch_size=2, stream=term) as p:
        assert p.mode == "notebook" and root.handlers == before  # logs are not routed
        for _ in range(3):
            p.batch_end(Metric())
        p.train_end(Metric())
    assert len(made) == 1 and made[0]["total"] == 3 and term.getvalue() == ""
    assert SUMMARY.match(capsys.readouterr().out.strip())


def test_num_batches():
    it = mx.io.NDArrayIter(np.zeros((10, 2), np.float32), np.zeros(10, np.float32), batch_size=4)
    assert progress.num_batches(it) == 3
    assert progress.num_batches(mx.io.DataIter()) is None
    assert progress.num_batches(range(5)) == 5


# --- fit, end to end -------------------------------------------------------------------------------
def small_fit(fit_kind, eval_data=True, **kw):
    rng = np.random.RandomState(0)
    x = rng.randn(40, 6).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=2, name="fc"), name="softmax")
    train = mx.io.NDArrayIter(x, y, batch_size=4)  # 10 batches an epoch
    val = mx.io.NDArrayIter(x[:12], y[:12], batch_size=4) if eval_data else None
    speed = mx.callback.Speedometer(4, 3)
    if fit_kind == "module":
        mod = mx.mod.Module(net)
        mod.fit(train, eval_data=val, num_epoch=2, batch_end_callback=speed,
                optimizer_params={"learning_rate": 0.1}, **kw)
    else:
        model = mx.model.FeedForward(net, num_epoch=2, numpy_batch_size=4, learning_rate=0.1)
        model.fit(train, eval_data=val, batch_end_callback=speed, **kw)


@pytest.mark.parametrize("fit_kind", ["module", "feedforward"])
def test_fit_on_a_terminal(console, monkeypatch, fit_kind):
    term, _ = console
    monkeypatch.setattr(sys, "stderr", term)  # fit's display goes to sys.stderr
    small_fit(fit_kind)
    text = term.getvalue()
    shown = [line for line in screen(text) if line]
    assert all(MXNET_LINE.match(line) or SUMMARY.match(line) for line in shown), shown
    summaries = [line for line in shown if SUMMARY.match(line)]
    assert [s.split()[0] for s in summaries] == ["Epoch[0]", "Epoch[1]"]
    assert all("validation accuracy=" in s for s in summaries)
    assert len([line for line in shown if "Validation-accuracy" in line]) == 2
    bars = frames(text)
    assert any("100%" in f and "10/10" in f for f in bars)  # the training bar's end
    assert any("100%" in f and "3/3" in f for f in bars)  # the validation bar's end


def test_fit_to_a_log_file_is_mxnets_lines(monkeypatch):
    monkeypatch.delenv("RMX_PROGRESS", raising=False)
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    root = logging.getLogger()
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        small_fit("module")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    lines = log.getvalue().splitlines()
    # per epoch: Speedometer at batches 3, 6, 9; Train-accuracy; Time cost; Validation-accuracy
    assert len(lines) == 2 * 6 and all(MXNET_LINE.match(line) for line in lines), lines
    assert "\r" not in log.getvalue()
