"""Statistics over a study store: per-cell summaries, paired ratios, scaling, energy vs time.

The unit of replication is one process launch (one run). Modules:

- :mod:`~gilwatt.analysis.stats`: summaries, log-space t and bootstrap intervals, Holm / BH,
  verdicts.
- :mod:`~gilwatt.analysis.dataset`: a study's runs read from SQLite with per-run aggregates
  computed inside SQLite.
- :mod:`~gilwatt.analysis.metrics`: the per-run metrics and their units.
- :mod:`~gilwatt.analysis.compare`: cells, paired ratios between modes, verdicts.
- :mod:`~gilwatt.analysis.scaling`: speed-up, Amdahl and USL fits.
- :mod:`~gilwatt.analysis.energy_time`: energy vs time and power vs utilisation regressions.
- :mod:`~gilwatt.analysis.decide`: claim decisions (estimands, five verdicts, stability), a
  pure function of a dataset.
- :mod:`~gilwatt.analysis.findings`: the paper's claims against this study's evidence.
- :mod:`~gilwatt.analysis.simulate`: studies drawn from known truths, judged by ``decide``.
- :mod:`~gilwatt.analysis.tables`: text / markdown / csv / json rendering (pure functions).
- :mod:`~gilwatt.analysis.pyperf_export`: pyperf-compatible JSON.

Import the submodules directly; this package stays import-light (no numpy / scipy here).
"""

from __future__ import annotations
