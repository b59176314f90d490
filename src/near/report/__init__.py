"""The reports: how well each zero-cost proxy predicts trained accuracy, and what a search found, as Markdown
and HTML.

:func:`write_report` reads one or more run folders of ``near bench`` (or of ``near search``) and writes
``report.md`` (with its figures in ``report_files/``) and a self-contained ``report.html``; :func:`load_run`
reads one benchmark run, :func:`load_search` one search.

Examples
--------
>>> from near.report import write_report
>>> write_report("runs/nb201-c10")                                   # doctest: +SKIP
>>> write_report(["runs/nb201-c10", "runs/nb201-c100"], out="runs/all")  # doctest: +SKIP
"""

from .runs import Run, load_run
from .searches import SearchRun, load_search
from .write import write_report

__all__ = ["Run", "SearchRun", "load_run", "load_search", "write_report"]
