"""``python -m rmx.launch``: see ``rmx.launch``."""

import sys

from . import main

sys.exit(main())
