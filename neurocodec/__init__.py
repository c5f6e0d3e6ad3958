"""NeuroCodec: staged pipelines with cached artifacts for brain data.

Subpackages (imports flow one way): :mod:`neurocodec.pipeline` (generic engine)
<- :mod:`neurocodec.datasets` <- :mod:`neurocodec.features` <-
:mod:`neurocodec.encoders` <- :mod:`neurocodec.decoders`.
"""

try:
    from importlib.metadata import version as _version

    __version__ = _version("neurocodec")
except Exception:  # pragma: no cover - not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
