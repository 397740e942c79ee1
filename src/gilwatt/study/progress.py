"""What a study reports while it runs, and what it returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gilwatt.study.matrix import PlannedRun


@dataclass(frozen=True)
class StudyEvent:
    """Progress of a study, for the CLI to show. ``kind``: start, block, run-start, run-end,
    idle, note, look, end."""

    kind: str
    done: int  # runs with a final status (of the runs planned for this session)
    total: int
    run: PlannedRun | None = None
    status: str = ""
    reason: str = ""
    duration_s: float | None = None
    eta_s: float | None = None
    message: str = ""
    host: str = ""  # a cluster study's host ('' for a local study)


EventFn = Callable[[StudyEvent], None]


@dataclass
class StudyOutcome:
    study_id: int
    store_path: Path
    resumed: bool
    planned: int
    counts: dict[str, int]
    launched: int  # runs started in this session
    elapsed_s: float
    notes: list[str] = field(default_factory=list)
    replicates: int = 0  # replicates with no pending run
    stopped: str = ""  # why an adaptive study stopped ("" when it did not look, or ran on)
