"""Every ``>>>`` example in the package's docstrings runs, and prints what it shows."""

import doctest
import importlib
import pkgutil

import pytest

import rmx


def modules():
    names = ["rmx"]
    for info in pkgutil.walk_packages(rmx.__path__, "rmx."):
        if ".examples." in info.name or info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


# Modules that need an optional package, which the suite has only where it is installed.
OPTIONAL = {"rmx.launch.ray": "ray"}


@pytest.mark.parametrize("name", modules())
def test_docstring_examples(name):
    if name in OPTIONAL:
        pytest.importorskip(OPTIONAL[name])
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    for test in finder.find(module, name, globs={}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} docstring examples failed"
