"""Pipeline stages of :mod:`neurocodec.features`.

Importing this module registers them; the engine finds it through the
``neurocodec.stages`` entry point. Each capability module below registers
its own stages on import (keep those imports cheap: no torch/mne at top level).
"""

from . import _kinds as _kinds  # noqa: F401
from .connectivity import stages as _connectivity_stages  # noqa: F401
from .tokenizer import stages as _tokenizer_stages  # noqa: F401
