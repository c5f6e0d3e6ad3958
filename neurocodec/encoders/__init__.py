"""Encoders (stimulus -> brain): ridge solvers, stimulus features, in-context encoders."""
