"""Pipeline stages of the ingest layer (fMRI, EEG/sEEG, BIDS, public datasets)."""
