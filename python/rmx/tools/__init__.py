"""Command-line tools: ``python -m rmx.tools.im2rec`` (image lists and RecordIO files)."""
