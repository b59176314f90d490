"""One exception hierarchy for the whole package, and the warnings it emits.

Every error a user can trigger derives from :class:`NearError`, so ``except near.NearError``
catches all of them; each subclass also derives from the built-in exception that fits
(``ValueError``, ``RuntimeError``) so generic handlers keep working.
"""

from __future__ import annotations


class NearError(Exception):
    """Base class of every error raised by ``near``."""


class InputError(NearError, ValueError):
    """The sample inputs cannot be used (empty, non-numeric, wrong type)."""


class InsufficientSamplesError(InputError):
    """Fewer samples were given than the widest scored layer needs."""


class ModelError(NearError, RuntimeError):
    """The model could not be built, copied or run on the given inputs."""


class NoScorableLayerError(NearError, ValueError):
    """No layer of the model produced a matrix that NEAR can score."""


class NonFiniteActivationError(NearError, ArithmeticError):
    """A scored layer produced NaN or infinite activations."""


class OptionError(NearError, ValueError):
    """An option has a value outside what is supported."""


class DataError(NearError, ValueError):
    """A dataset name or data file could not be read."""


class ArchitectureError(NearError, ValueError):
    """A search-space name or architecture (arch string, channel string, cell matrix) is not valid."""


class ProxyError(NearError, ValueError):
    """A zero-cost proxy name or option is unknown."""


class ProxyNotApplicableError(NearError, ValueError):
    """A zero-cost proxy cannot be computed for this model or these inputs (the message says why)."""


class StoreConflictError(NearError, ValueError):
    """A results store holds results of a different benchmark setup (other images, space or classes)."""


class RunInProgressError(NearError, RuntimeError):
    """Another ``near bench`` run holds the output directory."""


class ExecutorError(NearError, RuntimeError):
    """The workers of a ``near bench`` executor cannot run at all (e.g. a Ray node without ``near``): the run
    stops instead of recording every architecture as failed."""


class NearWarning(UserWarning):
    """Base class of the warnings emitted by ``near``."""


class ZeroMatrixWarning(NearWarning):
    """A layer's matrix is all zeros: its effective rank is undefined and counted as 0."""


class NonFiniteActivationWarning(NearWarning):
    """A layer with NaN/inf activations was excluded from the score."""


class ReinitWarning(NearWarning):
    """Some parameters could not be re-initialised between repetitions."""


class SampleReuseWarning(NearWarning):
    """The inputs give the same samples to every repetition, although ``shuffle=True`` asks for fresh ones."""


class TableWarning(NearWarning):
    """Rows of a benchmark table share an architecture (one score, several accuracies), are NB101's bare
    input→output cell, or mix fractions and percentages: the correlations over them mislead."""
