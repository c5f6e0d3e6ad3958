"""Baselines the learned models are compared with: MiniRocket + ridge (Dempster, Schmidt & Webb 2021)."""

from ._minirocket import MiniRocket, MiniRocketClassifier

__all__ = ["MiniRocket", "MiniRocketClassifier"]
