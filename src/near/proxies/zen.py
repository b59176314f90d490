"""Zen-NAS's zen score: the expected response to a small input perturbation, with BatchNorm variance terms."""

from __future__ import annotations
