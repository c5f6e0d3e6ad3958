"""Registers the ingest stages (each module imports only numpy/pydantic at top level)."""

from . import _eeg_public_stages, _eeg_stages, _fmri_stages, _public_stages, _user_stages  # noqa: F401
