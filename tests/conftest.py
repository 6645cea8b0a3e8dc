"""Shared fixtures: every engine test runs on both engines."""

import pytest

from rmx import engine


@pytest.fixture(params=["ThreadedEnginePerDevice", "NaiveEngine"])
def engine_kind(request):
    engine.set_engine_type(request.param)
    yield request.param
    engine.set_engine_type("ThreadedEnginePerDevice")
