"""MeCo and meco_opt: the smallest eigenvalue of channel correlations of every module's output."""

from __future__ import annotations
