"""MLP design with NEAR: building MLPs (:mod:`.build`, :mod:`.activations`), the paper's layer-size rule
(:mod:`.powerlaw`, :mod:`.sizing`) and the half-gain rule for where it degenerates (:mod:`.gain`), choosing
an activation and initialisation (:mod:`.selection`), the short trainings that check both (:mod:`.training`)
and their plots (:mod:`.plots`).

Imports run one way: build → powerlaw, gain → sizing / selection → training, plots; nothing imports back."""

from .powerlaw import FitError
from .selection import SelectionResult, SelectionRow, select
from .sizing import LayerSizeEstimate, SizingResult, SizingWarning, estimate_layer_sizes, verify_sizes

__all__ = [
    "FitError",
    "LayerSizeEstimate",
    "SelectionResult",
    "SelectionRow",
    "SizingResult",
    "SizingWarning",
    "estimate_layer_sizes",
    "select",
    "verify_sizes",
]
