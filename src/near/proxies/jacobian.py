"""Proxies from the input Jacobian: jacob_cov and epe_nas."""

from __future__ import annotations
