"""Where rmx looks for the CUDA libraries: the ``nvidia-*`` pip wheels' folders
(``site-packages/nvidia/cu13/lib``, ``nvidia/cudnn/lib``), which no loader path names. The Rust
side loads what it finds there by absolute path before its first CUDA call (``RMX_CUDA_LIB_DIRS``
names more folders, searched first); this module only tells it which site-packages folders exist.
"""

import os
import site
import sys

from . import _rmx


def site_dirs():
    """Every site-packages folder of this interpreter, the user's included, that exists."""
    found = []
    try:
        found += site.getsitepackages()
    except AttributeError:  # some embedded interpreters lack it
        pass
    try:
        found.append(site.getusersitepackages())
    except AttributeError:
        pass
    found += [p for p in sys.path if p.endswith("site-packages")]
    seen = []
    for p in found:
        if p and os.path.isdir(p) and p not in seen:
            seen.append(p)
    return seen


def register():
    """Passes the folders to the extension (cheap: nothing is loaded until a GPU or NVRTC is used)."""
    _rmx.cuda_set_site_dirs(site_dirs())


def preloaded():
    """The CUDA libraries loaded from the wheels' folders, loading them now if not yet done."""
    return _rmx.cuda_preloaded()
