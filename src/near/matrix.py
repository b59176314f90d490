"""How one layer's output tensor becomes the square matrix whose effective rank NEAR sums.

Rows are samples (or positions), columns are the layer's neurons:

* ``(N, F)`` — fully connected: neurons are features; the matrix is the first ``F`` samples.
* ``(N, C, *spatial)`` — channels first (convolutions): the channels are the neurons and each
  sample contributes its spatial positions as rows, flattened with ``transpose(1, -1)`` as in the
  authors' code (for a 2-D map: rows ordered by width position, then height). From the first
  ``ceil(C / positions)`` samples a block of ``C`` contiguous rows is taken whose start is a random
  multiple of the map width, uniform among the starts where the whole block fits (paper §3.3) —
  and, as in the authors' code (``randint(0, rows // W - 1)``, upper bound exclusive), never the
  last map row, so both draw from the same distribution wherever their rule fits.
* ``(N, *positions, D)`` — channels last (sequence models, NHWC maps): ``D`` neurons, positions are
  rows (in memory order); a sequence's block may start at any position, an NHWC map's at a map row.
  A 1-D channels-first map ``(N, C, L)`` is treated like a sequence after moving channels last.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Layout:
    """Where the neurons are in one output tensor (sample axis first)."""

    neurons: int
    rows_per_sample: int
    start_unit: int
    channels_first: bool

    @property
    def samples_needed(self) -> int:
        """Samples whose rows together fill one square ``neurons × neurons`` matrix."""
        return math.ceil(self.neurons / self.rows_per_sample)


def layout_of(output: torch.Tensor, channels_first: bool) -> Layout:
    """The layout of a ``(N, ...)`` output with at least two axes."""
    if output.dim() == 2:
        return Layout(output.shape[1], 1, 1, False)
    if channels_first:
        spatial = output.shape[2:]
        unit = spatial[-1] if len(spatial) >= 2 else 1
        return Layout(output.shape[1], math.prod(spatial), unit, True)
    positions = output.shape[1:-1]
    unit = positions[-1] if len(positions) >= 2 else 1
    return Layout(output.shape[-1], math.prod(positions), unit, False)


def square_block(output: torch.Tensor, layout: Layout, generator: torch.Generator | None) -> torch.Tensor:
    """The ``neurons × neurons`` matrix of one layer, copied out of ``output`` (no view kept).

    Only the block's own rows are copied: the rest of the map is never flattened.
    """
    n = layout.neurons
    rows = layout.samples_needed * layout.rows_per_sample
    start = 0
    if rows != n:
        unit = layout.start_unit
        starts = max(1, min((rows - n) // unit + 1, rows // unit - 1))
        start = unit * int(torch.randint(starts, (1,), generator=generator))
    return _block_rows(output, layout, start).clone(memory_format=torch.contiguous_format).view(n, n)


def _block_rows(output: torch.Tensor, layout: Layout, start: int) -> torch.Tensor:
    """Rows ``start … start + n`` of the layer's ``positions × neurons`` matrix: a view of ``output`` where
    they are the leading-axis slices of one sample (or part of one slice), else a copy."""
    n = layout.neurons
    if output.dim() == 2:
        return output[:n]
    if layout.samples_needed > 1:
        part = output[: layout.samples_needed]
        if layout.channels_first:
            part = part.transpose(1, -1)
        return part.reshape(-1, n)[start : start + n]
    grid = output[0].transpose(0, -1) if layout.channels_first else output[0]  # (leading positions, …, neurons)
    per_slice = layout.rows_per_sample // grid.shape[0]
    first, offset = divmod(start, per_slice)
    if offset + n <= per_slice:  # inside one slice
        return grid[first].reshape(per_slice, n)[offset : offset + n]
    end = -(-(start + n) // per_slice)
    if offset == 0 and (end - first) * per_slice == n:  # whole slices
        return grid[first:end]
    return grid[first:end].reshape(-1, n)[offset : offset + n]
