"""near — estimate how good a neural network will be before training it (NEAR, ICLR 2025)."""

from .errors import (
    ArchitectureError,
    DataError,
    ExecutorError,
    InputError,
    InsufficientSamplesError,
    ModelError,
    NearError,
    NearWarning,
    NonFiniteActivationError,
    NonFiniteActivationWarning,
    NoScorableLayerError,
    OptionError,
    ProxyError,
    ProxyNotApplicableError,
    ReinitWarning,
    RunInProgressError,
    SampleReuseWarning,
    StoreConflictError,
    TableWarning,
    ZeroMatrixWarning,
)
from .mlp import (
    FitError,
    LayerSizeEstimate,
    SelectionResult,
    SelectionRow,
    SizingResult,
    SizingWarning,
    estimate_layer_sizes,
    select,
    verify_sizes,
)
from .rank import effective_rank, effective_ranks
from .result import LayerScore, NearResult
from .score import score

__version__ = "0.1.0"

__all__ = [
    "ArchitectureError",
    "DataError",
    "ExecutorError",
    "FitError",
    "InputError",
    "InsufficientSamplesError",
    "LayerScore",
    "LayerSizeEstimate",
    "ModelError",
    "NearError",
    "NearResult",
    "NearWarning",
    "NoScorableLayerError",
    "NonFiniteActivationError",
    "NonFiniteActivationWarning",
    "OptionError",
    "ProxyError",
    "ProxyNotApplicableError",
    "ReinitWarning",
    "RunInProgressError",
    "SampleReuseWarning",
    "SelectionResult",
    "SelectionRow",
    "SizingResult",
    "SizingWarning",
    "StoreConflictError",
    "TableWarning",
    "ZeroMatrixWarning",
    "effective_rank",
    "effective_ranks",
    "estimate_layer_sizes",
    "score",
    "select",
    "verify_sizes",
]


def __getattr__(name: str):
    """The subpackages beyond scoring (proxies, spaces, metrics, bench, report, analysis, ensemble, predict, search)
    load on first use: SciPy, scikit-learn and the proxies cost about a second to import; scoring alone should not."""
    if name in ("analysis", "bench", "ensemble", "metrics", "predict", "proxies", "report", "search", "spaces"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'near' has no attribute {name!r}")
