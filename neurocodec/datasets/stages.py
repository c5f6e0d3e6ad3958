"""Pipeline stages of :mod:`neurocodec.datasets`.

Importing this module registers them; the engine finds it through the
``neurocodec.stages`` entry point. Each capability module below registers
its own stages on import (keep those imports cheap: no torch/mne at top level).
"""

from . import kinds as _kinds  # noqa: F401
from .ingest import stages as _ingest_stages  # noqa: F401
from .simulate import stages as _simulate_stages  # noqa: F401
