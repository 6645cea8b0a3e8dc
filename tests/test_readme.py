"""README.md's code runs as written: every ```python block is executed in order, in a temporary
directory, and each ``print(...)`` line's output must be what its trailing comment says (after
an optional ``waits: ``; a comment ending in ``...`` gives the start of the output)."""

import contextlib
import io
import os
import re

import pytest

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


def blocks():
    text = open(README).read()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def expected_prints(code):
    """The expected output of each print line, in order."""
    out = []
    for line in code.splitlines():
        m = re.match(r"\s*print\(.*\)\s*#\s*(?:waits:\s*)?(.*)$", line)
        if m:
            out.append(m.group(1).strip())
    return out


@pytest.mark.parametrize("index", range(len(blocks())))
def test_readme_block_runs_and_prints_what_it_says(index, tmp_path, monkeypatch):
    code = blocks()[index]
    monkeypatch.chdir(tmp_path)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(code, f"README.md block {index}", "exec"), {"__name__": "__readme__"})
    printed = [line for line in buf.getvalue().splitlines() if line.strip()]
    want = expected_prints(code)
    assert len(printed) >= len(want), (printed, want)
    for got, expect in zip(printed, want):
        if expect.endswith("..."):
            assert got.startswith(expect[:-3].rstrip()), (got, expect)
        else:
            assert got == expect, (got, expect)
