"""``mx.lr_scheduler`` (rmx.lr_scheduler): rates and log lines for sequences of ``num_update``
exactly as MXNet 1.9.1 gives them (tests/fixtures/mxnet_train_py.json, written by
tests/fixtures/make_train_py_fixtures.py), plus argument checks."""

import json
import logging
import math
import os

import pytest

import rmx.lr_scheduler as lr_scheduler

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "mxnet_train_py.json")
with open(FIXTURE) as _f:
    FACTS = json.load(_f)["lr_scheduler"]


def case_id(case):
    return "%s-%s-%s" % (case["class"], json.dumps(case["kwargs"], sort_keys=True),
                         case["updates"][-1])


@pytest.mark.parametrize("case", FACTS["cases"], ids=[case_id(c) for c in FACTS["cases"]])
def test_sequence_vs_mxnet(case, caplog):
    sched = getattr(lr_scheduler, case["class"])(**case["kwargs"])
    caplog.set_level(logging.INFO)
    lrs = [sched(n) for n in case["updates"]]
    for n, got, expected in zip(case["updates"], lrs, case["lrs"]):
        assert got == pytest.approx(expected, rel=1e-12, abs=0), n
    assert [r.getMessage() for r in caplog.records] == case["logs"]


@pytest.mark.parametrize("case", FACTS["errors"],
                         ids=["%s-%s" % (c["class"], json.dumps(c["kwargs"], sort_keys=True))
                              for c in FACTS["errors"]])
def test_argument_errors_vs_mxnet(case):
    cls = getattr(lr_scheduler, case["class"])
    exc = {"ValueError": ValueError, "AssertionError": AssertionError}[case["error"]]
    with pytest.raises(exc):
        cls(**case["kwargs"])


def test_factor_boundaries_are_strict():
    sched = lr_scheduler.FactorScheduler(step=10, factor=0.5, base_lr=1.0)
    assert [sched(n) for n in (1, 10, 11, 20, 21)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert sched.count == 20


def test_multifactor_boundaries_are_strict():
    sched = lr_scheduler.MultiFactorScheduler(step=[3, 5], factor=0.1, base_lr=1.0)
    assert [sched(n) for n in (3, 4, 5, 6)] == pytest.approx([1.0, 0.1, 0.1, 0.01])
    assert sched.cur_step_ind == 2 and sched.count == 5


def test_warmup():
    sched = lr_scheduler.PolyScheduler(max_update=10, base_lr=1.0, pwr=1, warmup_steps=4,
                                       warmup_begin_lr=0.2)
    assert [sched(n) for n in range(4)] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert sched(4) == pytest.approx(1.0)
    assert sched(7) == pytest.approx(0.5)
    with pytest.raises(AssertionError):
        sched.get_warmup_lr(4)
    const = lr_scheduler.CosineScheduler(max_update=10, base_lr=1.0, warmup_steps=2,
                                         warmup_begin_lr=0.3, warmup_mode="constant")
    assert [const(0), const(1)] == [0.3, 0.3]


def test_cosine_formula_and_hold_after_max():
    sched = lr_scheduler.CosineScheduler(max_update=8, base_lr=0.4, final_lr=0.1)
    for n in range(9):
        expect = 0.1 + 0.3 * (1 + math.cos(math.pi * n / 8)) / 2
        assert sched(n) == pytest.approx(expect)
    assert sched(100) == pytest.approx(0.1)


def test_base_class_is_abstract():
    with pytest.raises(NotImplementedError):
        lr_scheduler.LRScheduler()(0)
    base = lr_scheduler.LRScheduler(base_lr=0.5)
    assert base.base_lr == 0.5 and base.warmup_final_lr == 0.5 and base.warmup_mode == "linear"
