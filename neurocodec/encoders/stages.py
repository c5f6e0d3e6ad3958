"""Pipeline stages of :mod:`neurocodec.encoders`.

Importing this module registers them; the engine finds it through the
``neurocodec.stages`` entry point. Each capability module below registers
its own stages on import (keep those imports cheap: no torch/mne at top level).
"""

from . import _encoding_stages as _encoding_stages  # noqa: F401
from . import _kinds as _kinds  # noqa: F401
from .incontext import stages as _incontext_stages  # noqa: F401
