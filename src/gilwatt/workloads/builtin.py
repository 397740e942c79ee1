"""The bundled workloads: the 2026 study's 13 scenarios and the patterns beyond it.

Presets: ``paper`` is the study's own sweep (arXiv 2603.04782, companion repository
Joseda8/profiler, section 2 of our notes): sizes as lists, workers 1, 2, 4, 6, 8, 12 for the
threaded families; 13 workloads x their sweeps = 84 cells. ``quick`` is sized so that a
cell's measured region takes roughly 0.5-2 s on a 2-core machine under the GIL build, with
workers 1, 2, 4. ``tiny`` is for tests: a region well under 0.2 s.

Memory estimates are deliberately generous upper bounds of the peak resident memory of one
run (inputs, kernel temporaries and the verification's reference).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gilwatt.workloads.model import MemoryEstimate, Param, ParamValue, Workload

SCRIPTS = Path(__file__).resolve().parent / "scripts"
STUDY_WORKERS = [1, 2, 4, 6, 8, 12]
QUICK_WORKERS = [1, 2, 4]
TINY_WORKERS = [1, 2]
BASE_BYTES = 64 << 20  # the interpreter itself, numpy, thread stacks
PROCESS_BYTES = 64 << 20  # one more worker process or sub-interpreter


def _int(params: Mapping[str, ParamValue], name: str) -> int:
    return int(params[name])


def _per(name: str, bytes_each: float) -> MemoryEstimate:
    return lambda params, workers: BASE_BYTES + int(bytes_each * _int(params, name))


def _size(name: str, unit: str, help_text: str, default: int, minimum: int = 1) -> Param:
    return Param(name, unit, "int", help_text, default, minimum=minimum)


def _choice(name: str, choices: tuple[str, ...], help_text: str) -> Param:
    return Param(name, "", "str", help_text, choices[0], choices=choices)


def _workload(
    name: str,
    family: str,
    description: str,
    params: tuple[Param, ...],
    presets: dict[str, dict[str, Any]],
    verifies: str,
    estimate: MemoryEstimate,
    *,
    uses_workers: bool = True,
    needs: tuple[str, ...] = (),
    sharing: str = "independent",
    sharing_by_variant: Mapping[str, str] | None = None,
) -> Workload:
    return Workload(
        name=name,
        family=family,
        description=description,
        script=SCRIPTS / f"{name}.py",
        params=params,
        presets=presets,
        uses_workers=uses_workers,
        verifies=verifies,
        needs=needs,
        estimate_bytes=estimate,
        sharing=sharing,
        sharing_by_variant=dict(sharing_by_variant or {}),
    )


def _single(tiny: Any, quick: Any, paper: Any, param: str) -> dict[str, dict[str, Any]]:
    return {
        "tiny": {param: tiny, "workers": [1]},
        "quick": {param: quick, "workers": [1]},
        "paper": {param: paper, "workers": [1]},
    }


def _threaded(
    tiny: dict[str, Any], quick: dict[str, Any], paper: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    return {
        "tiny": {**tiny, "workers": TINY_WORKERS},
        "quick": {**quick, "workers": QUICK_WORKERS},
        "paper": {**paper, "workers": STUDY_WORKERS},
    }


def _millions(*values: int) -> list[int]:
    return [v * 1_000_000 for v in values]


def _sieve_bytes(params: Mapping[str, ParamValue], workers: int) -> int:
    limit = max(_int(params, "limit"), 3)
    return BASE_BYTES + 10 * limit + int(100 * limit / math.log(limit))


def _pool_bytes(params: Mapping[str, ParamValue], workers: int) -> int:
    separate = params.get("variant") in ("process", "interpreter", "processes")
    return BASE_BYTES + (PROCESS_BYTES * workers if separate else 0)


def _executors_bytes(params: Mapping[str, ParamValue], workers: int) -> int:
    shipped = _int(params, "tasks") * _int(params, "payload_kb") * 1024
    copies = 2 if params.get("variant") != "thread" else 1  # pickled copies in flight
    return _pool_bytes(params, workers) + copies * shipped


def _read_only_bytes(params: Mapping[str, ParamValue], workers: int) -> int:
    size = _int(params, "size_mb") << 20
    return _pool_bytes(params, workers) + 2 * size  # page cache + generation buffer


def _study() -> list[Workload]:
    numpy_only = ("numpy",)
    return [
        _workload(
            "numpy_vectorized",
            "numpy",
            "a*b + a*0.5 - b*0.25, clip, normalise, sum over float64 arrays (NumPy).",
            (_size("length", "elements", "elements per input array", 200_000),),
            _single(200_000, 25_000_000, _millions(150, 170, 190, 210, 230, 250, 275), "length"),
            "mean and standard deviation of the clipped array against a blockwise reference "
            "(1e-10 relative); the normalised sum is ~0",
            _per("length", 56),
            uses_workers=False,
            needs=numpy_only,
        ),
        _workload(
            "numpy_blas",
            "numpy",
            "A.dot(B) then .sum() on square float64 matrices (NumPy, BLAS threads).",
            (_size("size", "rows", "rows = columns of each matrix", 200),),
            _single(200, 3800, [6000, 7500, 9000, 10500, 12000, 13500, 15000], "size"),
            "total against colsum(A).rowsum(B) and 64 entries against their own dot products "
            "(1e-9 relative)",
            lambda p, w: BASE_BYTES + 32 * _int(p, "size") ** 2,
            uses_workers=False,
            needs=numpy_only,
        ),
        _workload(
            "numpy_fft",
            "numpy",
            "np.fft.fft of a float64 signal, then abs().sum() (NumPy).",
            (_size("length", "samples", "signal samples", 100_000),),
            _single(100_000, 20_000_000, _millions(50, 75, 100, 125, 150, 175, 200), "length"),
            "Parseval's identity (1e-9 relative) and 4 bins against a direct DFT sum",
            _per("length", 48),
            uses_workers=False,
            needs=numpy_only,
        ),
        _workload(
            "mandelbrot",
            "sequential",
            "pure-Python escape-time Mandelbrot over a size x size grid, 50 iterations max.",
            (_size("size", "points", "grid points per side", 60),),
            _single(60, 700, [500, 1000, 1500, 2000, 2500, 3000, 3500], "size"),
            "every row computed; ~17 spread rows' (first and last included) iteration sums against an independent complex-number "
            "implementation (exact)",
            lambda p, w: BASE_BYTES + 64 * _int(p, "size"),
            uses_workers=False,
        ),
        _workload(
            "bubble_sort",
            "sequential",
            "in-place bubble sort of a descending list (worst case).",
            (_size("num_items", "items", "items to sort", 400),),
            _single(400, 5500, [5000, 8000, 11000, 14000, 17000, 21000, 25000], "num_items"),
            "the list equals 1..n (exact)",
            _per("num_items", 48),
            uses_workers=False,
        ),
        _workload(
            "prime_sieve",
            "sequential",
            "Sieve of Eratosthenes over a Python list (allocated in the region), then a list "
            "comprehension of the primes.",
            (_size("limit", "numbers", "largest number sieved", 100_000),),
            _single(100_000, 14_000_000, _millions(16, 20, 24, 28, 32, 36, 40), "limit"),
            "the primes equal those of an independent bytearray sieve (exact)",
            _sieve_bytes,
            uses_workers=False,
        ),
        _workload(
            "factorial",
            "threaded-numerical",
            "one ThreadPoolExecutor task per v in 0..max_value computing math.factorial(v).",
            (_size("max_value", "", "largest factorial argument", 600, minimum=0),),
            _threaded({"max_value": 600}, {"max_value": 5000}, {"max_value": 10_000}),
            "every value computed once; every v! mod (2**61-1) against a running product (exact)",
            _per("max_value", 256),  # residues, plus one live factorial per worker
        ),
        _workload(
            "matmul",
            "threaded-numerical",
            "pure-Python integer matrix product, contiguous row blocks on a ThreadPoolExecutor.",
            (_size("matrix_size", "rows", "rows = columns of each matrix", 48),),
            _threaded({"matrix_size": 48}, {"matrix_size": 320}, {"matrix_size": 768}),
            "blocks tile all rows once; every row sum of the product against "
            "sum_k A[i][k]*rowsum(B)[k] (exact)",
            lambda p, w: (
                BASE_BYTES + 40 * _int(p, "matrix_size") ** 2
            ),  # every thread reads all of B
            sharing="shared-read-only",
        ),
        _workload(
            "nbody",
            "threaded-numerical",
            "naive O(N^2) pure-Python n-body; a new ThreadPoolExecutor per step, contiguous "
            "particle blocks, state reassembled each step.",
            (
                _size("num_particles", "particles", "particles", 60),
                _size("num_steps", "steps", "time steps", 3, minimum=0),
            ),
            _threaded(
                {"num_particles": 60, "num_steps": 3},
                {"num_particles": 750, "num_steps": 10},
                {"num_particles": 2000, "num_steps": 10},
            ),
            "each step: every particle updated once, block-boundary and 8 spread particles "
            "recomputed sequentially; the whole last step recomputed (exact)",
            lambda p, w: BASE_BYTES + 400 * _int(p, "num_particles") * (_int(p, "num_steps") + 1),
            sharing="shared-read-only",  # every thread reads every position
        ),
        _workload(
            "json_parse",
            "threaded-objects",
            "threads json.loads slices of a shared list of JSON strings, count age buckets in "
            "local dicts, merge dicts and round-trip them through dumps/loads.",
            (_size("num_records", "records", "JSON records", 4000),),
            _threaded({"num_records": 4000}, {"num_records": 160_000}, {"num_records": 2_000_000}),
            "slices tile the records once; bucket counts, sum of id^age and tag count against "
            "values derived from the index without JSON (exact)",
            _per("num_records", 260),
            sharing="shared-read-only",  # one list of strings, each thread its slice
        ),
        _workload(
            "object_lists_nocopy",
            "threaded-objects",
            "threads write records[i] = records[i].upper() in place into one shared list "
            "(disjoint contiguous ranges).",
            (_size("num_records", "records", "strings in the shared list", 20_000),),
            _threaded(
                {"num_records": 20_000}, {"num_records": 16_000_000}, {"num_records": 55_000_000}
            ),
            "every record upper-case (full scan); boundary and ~1000 spread records exact",
            _per("num_records", 130),
            sharing="shared-mutable",  # every thread writes into the one list
        ),
        _workload(
            "object_lists_copy",
            "threaded-objects",
            "threads upper-case copies of slices of a shared list into thread-local lists; the "
            "main thread stitches them together.",
            (_size("num_records", "records", "strings in the shared list", 20_000),),
            _threaded(
                {"num_records": 20_000}, {"num_records": 9_000_000}, {"num_records": 55_000_000}
            ),
            "stitched list upper-case (full scan), boundary and ~1000 spread records exact; "
            "input unchanged",
            _per("num_records", 240),
            sharing="shared-read-only",  # writes go to thread-local lists
        ),
        _workload(
            "object_lists",
            "threaded-objects",
            "threads duplicate active Person dataclasses of their slice, build f-string names, "
            "concatenate and slice-assign lists.",
            (_size("num_records", "persons", "Person objects", 5000),),
            _threaded(
                {"num_records": 5000}, {"num_records": 1_200_000}, {"num_records": 8_000_000}
            ),
            "slices tile the persons once; per slice the list lengths, last name and first and "
            "last persons against values derived from the index (exact)",
            _per("num_records", 500),
            sharing="shared-read-only",  # new lists per thread
        ),
    ]


def _beyond() -> list[Workload]:
    start_method = _choice(
        "start_method", ("forkserver", "spawn", "fork"), "multiprocessing start method"
    )
    return [
        _workload(
            "executors",
            "executors",
            "the same pure-Python CPU kernel on ThreadPoolExecutor, ProcessPoolExecutor and "
            "InterpreterPoolExecutor (3.14+, else skipped); pool start-up is in the region.",
            (
                _choice("variant", ("thread", "process", "interpreter"), "executor kind"),
                _size("tasks", "tasks", "tasks submitted", 16),
                _size("task_iters", "steps", "arithmetic steps per task", 5000, minimum=0),
                _size("payload_kb", "KiB", "data shipped with each task", 16, minimum=0),
                start_method,
            ),
            _threaded(
                {
                    "variant": ["thread", "process", "interpreter"],
                    "tasks": 16,
                    "task_iters": 5000,
                    "payload_kb": 16,
                },
                {
                    "variant": ["thread", "process", "interpreter"],
                    "tasks": 64,
                    "task_iters": 250_000,
                    "payload_kb": 64,
                },
                {
                    "variant": ["thread", "process", "interpreter"],
                    "tasks": 256,
                    "task_iters": 1_000_000,
                    "payload_kb": 256,
                },
            ),
            "every task ran once; results against the closed form of the arithmetic (exact); "
            "payloads arrived whole",
            _executors_bytes,
        ),
        _workload(
            "shared_state",
            "shared-state",
            "threads update shared counter dicts: one global lock, striped per-key locks, "
            "per-thread shards merged at the end, or a queue hand-off to one owner thread.",
            (
                _choice(
                    "variant",
                    ("global-lock", "striped", "sharded", "queue", "unlocked"),
                    "locking pattern (unlocked is a deliberate data race, in no preset)",
                ),
                _size("num_items", "items", "shared-dict updates", 20_000),
                _size("num_keys", "keys", "distinct keys", 64),
                _size("work", "steps", "arithmetic steps per item", 20, minimum=0),
                _size("stripes", "locks", "locks (striped only)", 16),
                _size("batch", "items", "items per queue hand-off (queue only)", 256),
            ),
            _threaded(
                {
                    "variant": ["global-lock", "striped", "sharded", "queue"],
                    "num_items": 20_000,
                    "work": 20,
                },
                {
                    "variant": ["global-lock", "striped", "sharded", "queue"],
                    "num_items": 350_000,
                    "work": 40,
                },
                {
                    "variant": ["global-lock", "striped", "sharded", "queue"],
                    "num_items": 3_000_000,
                    "work": 40,
                },
            ),
            "counts and sums per key against the closed form of the arithmetic (exact)",
            lambda p, w: BASE_BYTES + 160 * _int(p, "num_items") + 200 * _int(p, "num_keys"),
            sharing="shared-mutable",  # shared dicts, locks, a queue
            sharing_by_variant={"sharded": "independent"},  # per-thread shards, merged after
        ),
        _workload(
            "read_only",
            "read-only",
            "a large read-only array (a file mapped read-only) hashed in pure Python by "
            "threads sharing one mmap, or by processes each mapping it.",
            (
                _choice("variant", ("threads", "processes"), "who shares the array"),
                _size("size_mb", "MiB", "read-only data", 8),
                Param(
                    "touch_bytes",
                    "bytes",
                    "int",
                    "bytes hashed per 4 KiB page",
                    16,
                    minimum=1,
                    maximum=4096,
                ),
                start_method,
            ),
            _threaded(
                {"variant": ["threads", "processes"], "size_mb": 8, "touch_bytes": 16},
                {"variant": ["threads", "processes"], "size_mb": 256, "touch_bytes": 256},
                {"variant": ["threads", "processes"], "size_mb": 2048, "touch_bytes": 96},
            ),
            "pages tiled once; each range's CRC-32 against zlib.crc32 of the same bytes (exact)",
            _read_only_bytes,
            sharing="shared-read-only",  # one mapped file, threads or processes
        ),
        _workload(
            "mixed_io",
            "mixed-io",
            "threads interleave pure-Python CPU work with blocking I/O: echo over local "
            "socketpairs with a set latency, or write + fsync + read of a file.",
            (
                _choice("variant", ("socket", "file"), "kind of blocking I/O"),
                _size("tasks", "rounds", "rounds of CPU work + I/O", 40),
                _size("cpu_iters", "steps", "arithmetic steps per round", 2000, minimum=0),
                _size("io_bytes", "bytes", "bytes sent and received per round", 4096),
                Param(
                    "latency_ms",
                    "ms",
                    "float",
                    "echo delay per round (socket only)",
                    1.0,
                    minimum=0.0,
                ),
            ),
            _threaded(
                {"variant": ["socket", "file"], "tasks": 40, "cpu_iters": 2000},
                {"variant": ["socket", "file"], "tasks": 600, "cpu_iters": 20_000},
                {"variant": ["socket", "file"], "tasks": 4000, "cpu_iters": 20_000},
            ),
            "every round ran once; results against the closed form of the arithmetic (exact); "
            "every echoed or re-read buffer equals what was sent",
            lambda p, w: BASE_BYTES + w * 2 * _int(p, "io_bytes") + 64 * _int(p, "tasks"),
        ),
    ]


def builtin_workloads() -> list[Workload]:
    """The bundled workloads, the study's 13 first."""
    return _study() + _beyond()


STUDY_WORKLOADS = (
    "numpy_vectorized", "numpy_blas", "numpy_fft",
    "mandelbrot", "bubble_sort", "prime_sieve",
    "factorial", "matmul", "nbody",
    "json_parse", "object_lists_nocopy", "object_lists_copy", "object_lists",
)  # fmt: skip
