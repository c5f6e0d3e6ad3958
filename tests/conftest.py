import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
os.environ["NEUROCODEC_PLUGINS"] = ",".join(
    [m for m in os.environ.get("NEUROCODEC_PLUGINS", "").split(",") if m] + ["toy_stages"]
)
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT / "tests")] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
)

import pytest  # noqa: E402

#: Real data shared beside the checkout (skip tests that need it when absent).
SHARED_DATA = Path(os.environ.get("NEUROCODEC_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture
def shared_data():
    """Path to ../shared/data, or skip with a reason."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (set NEUROCODEC_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture
def single_thread():
    """Tiny problems: one BLAS / torch thread (thread pools only add contention on a shared 2-core machine)."""
    from threadpoolctl import threadpool_limits

    from neurocodec._compat import torch_threads

    with torch_threads(1), threadpool_limits(1):
        yield
