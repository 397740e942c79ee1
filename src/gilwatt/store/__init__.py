"""The results store: one SQLite file per study or profile, written as the run goes.

    from gilwatt.store import Store

    with Store.open("results.db") as store:
        for run in store.runs():
            print(run.run_id, store.summary(run.run_id).wall_ns)

schema.sql is the layout; store/schema.py has the version history and the upgrades. The
store is the only part of gilwatt that runs SQL: writer.py and reader.py (runs), studies.py
(the study tables), study_reader.py (a study's region measurements, aggregated in SQLite),
dump.py (every row, for export), synthetic.py (stores with known figures, for tests).
"""

from gilwatt.store.core import Store
from gilwatt.store.reader import Marker
from gilwatt.store.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "Marker", "Store"]
