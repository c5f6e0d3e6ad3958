"""Features from brain data: functional connectivity and EEG tokens."""
