"""Decoders (brain -> stimulus): image reconstruction and its metrics."""
