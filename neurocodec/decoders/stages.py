"""Pipeline stages of :mod:`neurocodec.decoders`.

Importing this module registers them; the engine finds it through the
``neurocodec.stages`` entry point. Each capability module below registers
its own stages on import (keep those imports cheap: no torch/mne at top level).
"""

from . import _category_stages as _category_stages  # noqa: F401
from . import _kinds as _kinds  # noqa: F401
from .brain_diffuser import stages as _brain_diffuser_stages  # noqa: F401
from .braindive import stages as _braindive_stages  # noqa: F401
from .mindbridge import stages as _mindbridge_stages  # noqa: F401
