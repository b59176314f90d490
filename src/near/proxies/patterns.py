"""Proxies from binary ReLU activation patterns: nwot (NASWOT), swap and reg_swap."""

from __future__ import annotations
