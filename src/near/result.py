"""What a NEAR computation returns: the score per repetition and a per-layer breakdown."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _std(values: np.ndarray) -> float:
    """Sample standard deviation (ddof=1); 0 for a single value."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


@dataclass(frozen=True)
class LayerScore:
    """One scored layer: mean effective rank over repetitions (``erank``) and its spread.

    ``kind`` is ``"pre"`` (a weighted layer's output) or ``"post"`` (an activation's output);
    ``source`` is ``"module"`` or ``"function"`` (a functional activation called in ``forward``);
    ``size`` is the number of neurons, i.e. the side of the square matrix.
    """

    name: str
    kind: str
    source: str
    size: int
    erank: float
    std: float


@dataclass(frozen=True)
class NearResult:
    """The NEAR score of a model: ``float(result)`` is the mean over repetitions.

    ``seed`` is the seed actually used (drawn at random when none was given), so any result can be
    reproduced with ``near.score(..., seed=result.seed)``.
    """

    scores: np.ndarray
    layers: tuple[LayerScore, ...]
    seed: int
    batch_size: int
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))

    @property
    def std(self) -> float:
        return _std(self.scores)

    @property
    def repetitions(self) -> int:
        return len(self.scores)

    def __float__(self) -> float:
        return self.mean

    def __repr__(self) -> str:
        return (
            f"NearResult(score={self.mean:.4f}, std={self.std:.4f}, repetitions={self.repetitions}, "
            f"layers={len(self.layers)}, seed={self.seed})"
        )

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        return {
            "score": self.mean,
            "std": self.std,
            "scores": [float(s) for s in self.scores],
            "repetitions": self.repetitions,
            "seed": self.seed,
            "batch_size": self.batch_size,
            "layers": [vars(layer) for layer in self.layers],
            "skipped": dict(self.skipped),
        }

    def table(self) -> str:
        """The per-layer breakdown as aligned text."""
        width = max([len("layer")] + [len(layer.name) for layer in self.layers])
        lines = [f"{'layer':<{width}}  kind  source    size     erank      std"]
        for layer in self.layers:
            lines.append(
                f"{layer.name:<{width}}  {layer.kind:<4}  {layer.source:<8}  {layer.size:>4}  "
                f"{layer.erank:>8.3f}  {layer.std:>7.3f}"
            )
        plural = "s" if self.repetitions != 1 else ""
        lines.append(f"NEAR = {self.mean:.4f} ± {self.std:.4f} (std over {self.repetitions} repetition{plural})")
        for name, reason in self.skipped.items():
            lines.append(f"not scored: {name} ({reason})")
        return "\n".join(lines)
