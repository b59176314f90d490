"""The sections of a report and their order: the place where a new section plugs in.

A section is a function that returns document blocks (:mod:`near.report.document`) for one run
(:class:`RunView`) or for the cross-benchmark part of a combined report (:class:`CombinedView`). Sections
are drawn by ``order``, lowest first: the results a reader opened the report for come first (10–39), the
diagnostics next (40–89), the settings of the run last (1000, folded away). A new section lives in a module
of its own that registers it with a decorator and is imported once by ``near/report/__init__.py``::

    from .sections import RunView, run_section

    @run_section("ensembles", order=35)
    def ensembles(view: RunView) -> list[Block]:
        return [Heading(view.level, "Ensembles"), ...]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .document import Block
from .runs import Run


@dataclass(frozen=True)
class RunView:
    """One run as its sections see it: the run, its metrics per proxy and where the section goes."""

    run: Run
    #: :func:`near.metrics.correlations` per proxy (``spearman``, ``kendall``, ``pairwise``, ``n``, ``n_nan`` …).
    summary: dict[str, dict[str, float | int]]
    #: Proxy names, best Spearman ρ first (NaN last).
    order: list[str]
    #: Heading level of the section's own headings (2 in a single report, 3 inside a combined one).
    level: int
    #: Prefix for image names, so that the figures of several runs never share a file name.
    prefix: str
    #: Whether this run is one of several in a combined report.
    combined: bool


@dataclass(frozen=True)
class CombinedView:
    """Several runs, for the cross-benchmark sections that open a combined report."""

    runs: Sequence[Run]
    #: A label per run (its folder name, or its path where two folders share a name).
    names: list[str]
    #: Spearman ρ and Kendall τ per benchmark label and proxy.
    rho: dict[str, dict[str, float]]
    tau: dict[str, dict[str, float]]
    #: Average rank of each proxy over the benchmarks (NEAR paper, Table 4).
    ranks: dict[str, float]
    #: Proxy names, best average rank first.
    order: list[str]


RunSection = Callable[[RunView], list[Block]]
CombinedSection = Callable[[CombinedView], list[Block]]

_RUN: dict[str, tuple[float, RunSection]] = {}
_COMBINED: dict[str, tuple[float, CombinedSection]] = {}


def run_section(name: str, order: float) -> Callable[[RunSection], RunSection]:
    """Register a section of every run's part of a report (a name registered again replaces the earlier one)."""

    def register(function: RunSection) -> RunSection:
        _RUN[name] = (order, function)
        return function

    return register


def combined_section(name: str, order: float) -> Callable[[CombinedSection], CombinedSection]:
    """Register a cross-benchmark section of a combined report, drawn before the runs' own parts."""

    def register(function: CombinedSection) -> CombinedSection:
        _COMBINED[name] = (order, function)
        return function

    return register


def run_sections() -> list[RunSection]:
    """The registered run sections, by order."""
    return [function for _, function in sorted(_RUN.values(), key=lambda item: item[0])]


def combined_sections() -> list[CombinedSection]:
    """The registered cross-benchmark sections, by order."""
    return [function for _, function in sorted(_COMBINED.values(), key=lambda item: item[0])]
