"""Zero-cost architecture search: find the network a proxy (or a rank combination of several) likes best,
optionally spending a few real queries on it.

>>> import near.search
>>> sorted(near.search.BUILT_IN)
['mlp', 'nats-sss', 'nb101', 'nb201']

See :func:`search` (the ``near search`` command), :mod:`near.search.protocol` (what a space of your own
needs) and docs/search.md.
"""

from __future__ import annotations

from .fewshot import PREDICTORS
from .fitness import COMBINATIONS, Archive
from .protocol import SearchSpace, check_space
from .run import SearchResult, search
from .spaces import BUILT_IN, MLPSpace, load_space
from .strategies import STRATEGIES, Budget

__all__ = [
    "BUILT_IN",
    "COMBINATIONS",
    "PREDICTORS",
    "STRATEGIES",
    "Archive",
    "Budget",
    "MLPSpace",
    "SearchResult",
    "SearchSpace",
    "check_space",
    "load_space",
    "search",
]
