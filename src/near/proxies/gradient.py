"""Proxies from the loss gradient of the weights: grad_norm, snip, grasp, fisher, plain, synflow, zico."""

from __future__ import annotations
