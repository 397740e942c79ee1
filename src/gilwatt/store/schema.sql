-- gilwatt store, schema version 3 (store/schema.py has the version history and the upgrades).
-- This file is always the newest layout; a new store is created from it. Columns added by an
-- upgrade go at the end of their table so fresh and upgraded files have the same column order.
-- Counters are cumulative raw values in base units; rates and deltas are computed on read.
-- CLOCK_MONOTONIC nanoseconds are named *_ns / t_ns; wall-clock epochs are *_unix_ns.

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS hosts (
    host_id       INTEGER PRIMARY KEY,
    fingerprint   TEXT NOT NULL UNIQUE,
    hostname      TEXT NOT NULL,
    cpu_model     TEXT NOT NULL,
    logical_cpus  INTEGER NOT NULL,
    kernel        TEXT NOT NULL,
    memory_bytes  INTEGER NOT NULL,
    isa_flags     TEXT NOT NULL DEFAULT '',
    extra_json    TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE IF NOT EXISTS interpreters (
    interp_id      INTEGER PRIMARY KEY,
    fingerprint    TEXT NOT NULL UNIQUE,
    executable     TEXT NOT NULL,
    version        TEXT NOT NULL,
    implementation TEXT NOT NULL,
    free_threaded  INTEGER NOT NULL,
    gil_enabled    INTEGER,            -- at probe time; NULL before 3.13
    extra_json     TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE IF NOT EXISTS runs (
    run_id               INTEGER PRIMARY KEY,
    study_id             INTEGER REFERENCES studies(study_id),
    host_id              INTEGER NOT NULL REFERENCES hosts(host_id),
    interp_id            INTEGER REFERENCES interpreters(interp_id),
    label                TEXT NOT NULL DEFAULT '',
    command_json         TEXT NOT NULL,
    cwd                  TEXT NOT NULL,
    env_json             TEXT NOT NULL DEFAULT '{}',   -- the variables gilwatt set or overrode
    started_unix_ns      INTEGER NOT NULL,
    start_ns             INTEGER NOT NULL,
    end_ns               INTEGER,
    status               TEXT NOT NULL,  -- running|ok|failed|signaled|timeout|interrupted
    exit_code            INTEGER,
    exit_signal          INTEGER,
    interval_ns          INTEGER NOT NULL,
    memory_interval_ns   INTEGER NOT NULL,
    achieved_interval_ns REAL,
    missed_deadlines     INTEGER,
    energy_source        TEXT NOT NULL DEFAULT '',
    energy_estimate      INTEGER NOT NULL DEFAULT 0,   -- 1 when energy comes from a model
    idle_power_uw        INTEGER,
    sampler_cpu_ns       INTEGER,
    ru_utime_ns          INTEGER,   -- kernel's own account of the reaped tree (wait4)
    ru_stime_ns          INTEGER,
    ru_maxrss_bytes      INTEGER,
    ru_nvcsw             INTEGER,
    ru_nivcsw            INTEGER,
    attrs_json           TEXT NOT NULL DEFAULT '{}',   -- markers.annotate()
    warnings_json        TEXT NOT NULL DEFAULT '[]',
    executor             TEXT     -- v3: the Dask worker that ran it (a cluster study); NULL: local
);

-- One row per sample of the whole process tree.
CREATE TABLE IF NOT EXISTS samples (
    run_id          INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    t_ns            INTEGER NOT NULL,
    scheduled_ns    INTEGER,          -- the deadline this tick was due at; NULL for marker samples
    trigger         TEXT NOT NULL,    -- tick|marker|final
    cpu_ns          INTEGER NOT NULL, -- cumulative, user + sys, whole tree
    cpu_user_ns     INTEGER NOT NULL,
    cpu_sys_ns      INTEGER NOT NULL,
    rss_bytes       INTEGER NOT NULL,
    vms_bytes       INTEGER NOT NULL,
    swap_bytes      INTEGER NOT NULL,
    threads         INTEGER NOT NULL,
    processes       INTEGER NOT NULL,
    ctx_voluntary   INTEGER NOT NULL,
    ctx_involuntary INTEGER NOT NULL,
    energy_uj       INTEGER,          -- cumulative since run start, from runs.energy_source
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

-- Machine-wide per-core counters from /proc/stat (USER_HZ ticks).
CREATE TABLE IF NOT EXISTS core_samples (
    run_id      INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    core        INTEGER NOT NULL,
    busy_ticks  INTEGER NOT NULL,
    total_ticks INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq, core)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS threads (
    run_id   INTEGER NOT NULL,
    tid      INTEGER NOT NULL,
    pid      INTEGER NOT NULL,
    name     TEXT NOT NULL DEFAULT '',
    first_ns INTEGER NOT NULL,  -- first seen (or started, when the thread hook reported it)
    last_ns  INTEGER NOT NULL,  -- last seen (or ended)
    cpu_ns   INTEGER,           -- last known CPU: exact at the hook's end event, else sampled (v3)
    start_ns INTEGER,           -- from the in-process thread hook (gilwatt.threadhook), exact (v3)
    end_ns   INTEGER,           -- idem; NULL if the hook saw no end (v3)
    PRIMARY KEY (run_id, tid)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS thread_samples (
    run_id  INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    tid     INTEGER NOT NULL,
    cpu_ns  INTEGER NOT NULL,   -- cumulative, from schedstat
    core    INTEGER,            -- CPU the thread last ran on
    PRIMARY KEY (run_id, seq, tid)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS processes (
    run_id   INTEGER NOT NULL,
    pid      INTEGER NOT NULL,
    ppid     INTEGER,
    cmdline  TEXT NOT NULL DEFAULT '',
    first_ns INTEGER NOT NULL,
    last_ns  INTEGER NOT NULL,
    cpu_ns   INTEGER,           -- last reading, kept after the process exits
    hwm_bytes INTEGER,          -- VmHWM last read
    vm_peak_bytes INTEGER,      -- VmPeak last read (v2)
    PRIMARY KEY (run_id, pid)
) WITHOUT ROWID;

-- Low-tier memory detail (smaps_rollup), per process.
CREATE TABLE IF NOT EXISTS memory_samples (
    run_id     INTEGER NOT NULL,
    t_ns       INTEGER NOT NULL,
    pid        INTEGER NOT NULL,
    rss_bytes  INTEGER NOT NULL,
    pss_bytes  INTEGER NOT NULL,
    uss_bytes  INTEGER NOT NULL,
    swap_bytes INTEGER NOT NULL,
    PRIMARY KEY (run_id, t_ns, pid)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS energy_zones (
    run_id       INTEGER NOT NULL,
    zone         TEXT NOT NULL,     -- "rapl:package-0", "rapl:package-0/dram", "model:ccf-linear"
    path         TEXT NOT NULL DEFAULT '',
    parent       TEXT,
    max_range_uj INTEGER,
    counted      INTEGER NOT NULL,  -- 1 if part of the run's energy total (never parent and child)
    PRIMARY KEY (run_id, zone)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS energy_samples (
    run_id    INTEGER NOT NULL,
    seq       INTEGER NOT NULL,
    zone      TEXT NOT NULL,
    energy_uj INTEGER NOT NULL,     -- cumulative since run start, wrap-corrected
    PRIMARY KEY (run_id, seq, zone)
) WITHOUT ROWID;

-- Raw marker events as received (valid ones; garbled lines become run warnings).
CREATE TABLE IF NOT EXISTS markers (
    run_id         INTEGER NOT NULL,
    idx            INTEGER NOT NULL,
    kind           TEXT NOT NULL,   -- B|E|M|A
    pid            INTEGER NOT NULL,
    tid            INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    name           TEXT NOT NULL,
    t_ns           INTEGER NOT NULL,
    process_cpu_ns INTEGER NOT NULL,
    thread_cpu_ns  INTEGER NOT NULL,
    gil            INTEGER,
    attrs_json     TEXT NOT NULL DEFAULT '{}',
    sample_seq     INTEGER,         -- the boundary sample taken for this event
    PRIMARY KEY (run_id, idx)
) WITHOUT ROWID;

-- Paired begin/end markers, written when the run ends.
CREATE TABLE IF NOT EXISTS regions (
    run_id                 INTEGER NOT NULL,
    region_idx             INTEGER NOT NULL,
    name                   TEXT NOT NULL,
    pid                    INTEGER NOT NULL,
    tid                    INTEGER NOT NULL,
    begin_ns               INTEGER NOT NULL,
    end_ns                 INTEGER NOT NULL,
    begin_sample_seq       INTEGER,
    end_sample_seq         INTEGER,
    process_cpu_begin_ns   INTEGER NOT NULL,
    process_cpu_end_ns     INTEGER NOT NULL,
    thread_cpu_begin_ns    INTEGER NOT NULL,
    thread_cpu_end_ns      INTEGER NOT NULL,
    gil_begin              INTEGER,
    gil_end                INTEGER,
    peak_rss_bytes         INTEGER,
    attrs_json             TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, region_idx)
) WITHOUT ROWID;

-- The target's stdout / stderr, appended in chunks as it runs.
CREATE TABLE IF NOT EXISTS outputs (
    run_id INTEGER NOT NULL,
    stream TEXT NOT NULL,   -- stdout|stderr
    chunk  INTEGER NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (run_id, stream, chunk)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS studies (
    study_id        INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    spec_hash       TEXT NOT NULL,
    spec_json       TEXT NOT NULL,
    seed            INTEGER NOT NULL,
    created_unix_ns INTEGER NOT NULL
);

-- The planned matrix: one row per (cell, block); run_id is set when the run finishes.
CREATE TABLE IF NOT EXISTS study_runs (
    study_id    INTEGER NOT NULL REFERENCES studies(study_id),
    run_key     TEXT NOT NULL,      -- stable identity of (cell, block)
    block       INTEGER NOT NULL,
    position    INTEGER NOT NULL,   -- order inside the block (shuffled with the study seed)
    workload    TEXT NOT NULL,
    params_json TEXT NOT NULL,
    workers     INTEGER NOT NULL,
    mode        TEXT NOT NULL,      -- gil|ft|ft-gil
    interpreter TEXT NOT NULL,
    status      TEXT NOT NULL,      -- pending|done|invalid|failed|skipped|priming|disturbed|sentinel|calibration
    reason      TEXT NOT NULL DEFAULT '',
    run_id      INTEGER REFERENCES runs(run_id),
    PRIMARY KEY (study_id, run_key)
) WITHOUT ROWID;

-- The machine around one study run (v3): what else ran, and the CPU's state. NULL: unreadable.
CREATE TABLE IF NOT EXISTS run_machine (
    run_id            INTEGER PRIMARY KEY REFERENCES runs(run_id),
    load1             REAL,     -- /proc/loadavg, 1 min, at the run's end
    procs_running     INTEGER,  -- runnable threads machine-wide just before the launch (gilwatt's excluded)
    steal_cores       REAL,     -- hypervisor steal over the run, in cores
    foreign_cpu_cores REAL,     -- machine busy - tree CPU - sampler CPU over the region, in cores
    cpu_mhz           REAL,     -- mean over cores at the run's end
    temp_c            REAL      -- hottest thermal zone at the run's end
);

CREATE TABLE IF NOT EXISTS idle_baselines (
    study_id    INTEGER,
    run_id      INTEGER,
    block       INTEGER,
    t_ns        INTEGER NOT NULL,
    duration_ns INTEGER NOT NULL,
    energy_uj   INTEGER NOT NULL,
    source      TEXT NOT NULL
);

-- Whole-run figures, computed from the rows above when a run finishes (store/derive.py) so
-- that reading a study of 1,000 runs does not rescan its 10 million samples. Never the source
-- of truth: every later write to the run deletes its row, rows of another formula version are
-- ignored, and a missing row is computed on read. (v2)
CREATE TABLE IF NOT EXISTS run_summaries (
    run_id          INTEGER PRIMARY KEY,
    formula         INTEGER NOT NULL,   -- store.derive.FORMULA_VERSION that computed the row
    wall_ns         INTEGER NOT NULL,
    cpu_user_ns     INTEGER NOT NULL,
    cpu_sys_ns      INTEGER NOT NULL,
    peak_rss_bytes  INTEGER NOT NULL,   -- the largest single process's peak (v3; before: a tree sum)
    peak_vms_bytes  INTEGER NOT NULL,
    peak_uss_bytes  INTEGER,            -- peaks of the tree's sums, sampled
    peak_pss_bytes  INTEGER,
    ctx_voluntary   INTEGER NOT NULL,
    ctx_involuntary INTEGER NOT NULL,
    energy_uj       INTEGER,
    energy_source   TEXT NOT NULL,
    max_threads     INTEGER NOT NULL,
    mean_cpu_util   REAL NOT NULL,
    peak_cpu_util   REAL NOT NULL,
    core_balance    REAL NOT NULL,
    peak_rss_exact  INTEGER NOT NULL DEFAULT 0,  -- 1: from the kernel (ru_maxrss), not a read (v3)
    max_threads_exact INTEGER NOT NULL DEFAULT 0 -- 1: from the thread hook's start/end (v3)
);

CREATE INDEX IF NOT EXISTS markers_by_name ON markers (run_id, name);
CREATE INDEX IF NOT EXISTS runs_by_study ON runs (study_id);
CREATE INDEX IF NOT EXISTS study_runs_by_run ON study_runs (run_id);  -- v2
