"""Data: simulations with ground truth, readers of fMRI/EEG/sEEG, public-dataset loaders."""
