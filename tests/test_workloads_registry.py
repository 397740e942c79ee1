"""The workload registry, presets, bad input, user TOML files and the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import pythons
from gilwatt.cli import main
from gilwatt.errors import ConfigError, UnknownNameError
from gilwatt.workloads import (
    ENV_PATH,
    FAMILIES,
    STUDY_WORKLOADS,
    get_workload,
    memory_available,
    outcome,
    registry,
)

GIL_PYTHON = pythons.gil_python()


def test_registry_holds_the_study_and_the_patterns_beyond_it() -> None:
    found = registry()
    assert list(found)[:13] == list(STUDY_WORKLOADS)
    assert {"executors", "shared_state", "read_only", "mixed_io"} <= set(found)
    for workload in found.values():
        assert workload.family in FAMILIES
        assert workload.script.is_file()
        assert workload.region == "kernel"
        assert workload.verifies
        assert set(workload.presets) == {"tiny", "quick", "paper"}
        for param in workload.params:
            assert param.help
    assert {w.family for w in found.values()} == set(FAMILIES) - {"user"}
    assert [n for n, w in found.items() if w.needs] == [
        "numpy_vectorized",
        "numpy_blas",
        "numpy_fft",
    ]


def test_paper_preset_is_the_studys_sweep() -> None:
    found = registry()
    cells = [
        c for name in STUDY_WORKLOADS for c in found[name].cells("paper", available_bytes=None)
    ]
    assert len(cells) == 84  # 3x7 + 3x7 + 3x6 + 4x6
    lengths = [
        c.params["length"] for c in found["numpy_vectorized"].cells("paper", available_bytes=None)
    ]
    assert lengths == [
        150_000_000,
        170_000_000,
        190_000_000,
        210_000_000,
        230_000_000,
        250_000_000,
        275_000_000,
    ]
    bubble = found["bubble_sort"].cells("paper", available_bytes=None)
    assert [c.params["num_items"] for c in bubble] == [
        5000,
        8000,
        11000,
        14000,
        17000,
        21000,
        25000,
    ]
    nbody = found["nbody"].cells("paper", available_bytes=None)
    assert [c.workers for c in nbody] == [1, 2, 4, 6, 8, 12]
    assert nbody[0].params == {"num_particles": 2000, "num_steps": 10}
    assert found["object_lists_nocopy"].preset("paper")["num_records"] == 55_000_000
    assert found["json_parse"].preset("paper")["num_records"] == 2_000_000


def test_quick_preset_uses_workers_1_2_4() -> None:
    for workload in registry().values():
        workers = sorted({c.workers for c in workload.cells("quick", available_bytes=None)})
        assert workers == ([1, 2, 4] if workload.uses_workers else [1])


def test_overrides_sweep_and_parse_sizes() -> None:
    workload = get_workload("numpy_fft")
    cells = workload.cells("quick", {"length": "1M,2_000,3e3"}, available_bytes=None)
    assert [c.params["length"] for c in cells] == [1_000_000, 2000, 3000]
    shared = get_workload("shared_state")
    cells = shared.cells("tiny", {"variant": "queue", "batch": 8}, [3], available_bytes=None)
    assert [(c.params["variant"], c.params["batch"], c.workers) for c in cells] == [("queue", 8, 3)]
    argv = cells[0].argv("/usr/bin/python3")
    assert argv[:4] == ["/usr/bin/python3", str(shared.script), "--workers", "3"]
    assert argv[argv.index("--batch") + 1] == "8"
    assert "--workers" not in workload.cells("tiny")[0].argv("python")


def test_unknown_names_list_the_valid_ones() -> None:
    with pytest.raises(UnknownNameError) as err:
        get_workload("mandelbrott")
    assert "mandelbrot" in str(err.value) and "nbody" in str(err.value)
    with pytest.raises(
        UnknownNameError, match=r"unknown nbody parameter 'particles'.*num_particles"
    ):
        get_workload("nbody").cells("tiny", {"particles": 10})
    with pytest.raises(UnknownNameError, match=r"unknown preset 'fast'.*paper, quick, tiny"):
        get_workload("nbody").cells("fast")
    with pytest.raises(UnknownNameError, match=r"unknown executors variant 'fiber'.*interpreter"):
        get_workload("executors").cells("tiny", {"variant": "fiber"})


@pytest.mark.parametrize(
    ("name", "overrides", "workers", "message"),
    [
        ("matmul", {}, [0], r"worker count \(0\): below the minimum 1"),
        ("mandelbrot", {}, [2], r"mandelbrot is single-threaded"),
        (
            "mandelbrot",
            {"size": "0"},
            None,
            r"parameter size of mandelbrot \(0\): below the minimum 1",
        ),
        ("bubble_sort", {"num_items": "many"}, None, r"\('many'\): not an integer"),
        ("mixed_io", {"latency_ms": "-1"}, None, r"below the minimum 0"),
        ("read_only", {"touch_bytes": "5000"}, None, r"above the maximum 4096"),
    ],
)
def test_bad_values_are_refused(
    name: str, overrides: dict[str, str], workers: list[int] | None, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        get_workload(name).cells("tiny", overrides, workers, available_bytes=None)


def test_a_size_that_does_not_fit_in_memory_is_refused() -> None:
    blas = get_workload("numpy_blas")
    with pytest.raises(ConfigError, match=r"numpy_blas .*size=1000000.*MemAvailable"):
        blas.cells("tiny", {"size": "1000000"})  # 3 x 8 TB of matrices
    with pytest.raises(ConfigError, match=r"needs about .* but only 1.0 MiB is available"):
        blas.cells("quick", available_bytes=1 << 20)
    assert len(blas.cells("tiny", available_bytes=1 << 40)) == 1


def test_memory_available_reads_meminfo(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24684340 kB\nMemAvailable:   20000000 kB\n")
    assert memory_available(meminfo) == 20_000_000 * 1024
    meminfo.write_text("MemTotal:       24684340 kB\n")
    assert memory_available(meminfo) is None
    assert memory_available(tmp_path / "absent") is None
    real = memory_available()
    assert real is None or real > 0


def test_outcome_of_exit_codes() -> None:
    assert [outcome(c) for c in (0, 3, 4, 1, None)] == [
        "ok", "verification-failed", "skipped", "failed", "failed",
    ]  # fmt: skip


# -- user workloads ---------------------------------------------------------------------------

USER_TOML = """
name = "dict_churn"
script = "churn.py"
description = "threads churn a dict"
verifies = "final dict equals the sequential one"
workers = [1, 3]

[params.items]
unit = "items"
default = 1000
help = "dict updates"
min = 1

[params.mode]
type = "str"
default = "fast"
choices = ["fast", "slow"]
help = "how"

[presets.paper]
items = [1000, 2000]
workers = [1, 2, 4]

[memory]
param = "items"
bytes_each = 100
"""


def _user_dir(tmp_path: Path, text: str = USER_TOML) -> Path:
    (tmp_path / "churn.py").write_text("print('hi')\n")
    (tmp_path / "churn.toml").write_text(text)
    return tmp_path


def test_user_workload_from_a_toml_file(tmp_path: Path) -> None:
    workload = registry([_user_dir(tmp_path)])["dict_churn"]
    assert workload.family == "user" and workload.source == str(tmp_path / "churn.toml")
    assert workload.script == (tmp_path / "churn.py").resolve()
    quick = workload.cells("quick", available_bytes=None)
    assert [(c.params, c.workers) for c in quick] == [
        ({"items": 1000, "mode": "fast"}, 1),
        ({"items": 1000, "mode": "fast"}, 3),
    ]
    assert len(workload.cells("paper", available_bytes=None)) == 6
    assert workload.estimate({"items": 10**6, "mode": "fast"}, 1) == (64 << 20) + 100 * 10**6
    with pytest.raises(ConfigError, match="MemAvailable"):
        workload.cells("quick", {"items": str(10**15)})
    assert quick[0].argv("py")[2:] == ["--workers", "1", "--items", "1000", "--mode", "fast"]


def test_user_workloads_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_PATH, str(_user_dir(tmp_path)))
    assert "dict_churn" in registry()
    assert get_workload("dict_churn").params[0].name == "items"
    monkeypatch.setenv(ENV_PATH, str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match=r"nowhere.*GILWATT_WORKLOADS_PATH"):
        registry()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('name = "dict_churn"', 'name = "matmul"'),
            r"'matmul' is already taken \(a bundled workload\)",
        ),
        (('script = "churn.py"', 'script = "gone.py"'), r"gone.py' does not exist"),
        (("min = 1", "minimum = 1"), r"unknown key params.items.minimum"),
        (("workers = [1, 3]", "workers = [0]"), r"workers \[0\] must be a list of integers >= 1"),
        (('default = "fast"', 'default = "medium"'), r"unknown .*mode 'medium'"),
        (("items = [1000, 2000]", "itmes = 5"), r"unknown key presets.paper.itmes"),
        (("description =", "famly = 1\ndescription ="), r"unknown key famly"),
        (("[params.items]", "[params.items\n"), r"not valid TOML"),
    ],
)
def test_bad_user_files_are_refused(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    assert change[0] in USER_TOML
    directory = _user_dir(tmp_path, USER_TOML.replace(*change))
    with pytest.raises(ConfigError, match=message):
        registry([directory])


# -- CLI ----------------------------------------------------------------------------------------


def test_cli_list_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["workloads", "list", "--json", "--workloads-path", str(_user_dir(tmp_path))]) == 0
    listed = json.loads(capsys.readouterr().out)
    by_name = {w["name"]: w for w in listed}
    assert len(listed) == 18 and by_name["dict_churn"]["family"] == "user"
    fft = by_name["numpy_fft"]
    assert fft["params"][0]["unit"] == "samples" and fft["needs"] == ["numpy"]
    assert fft["presets"]["paper"]["length"][0] == 50_000_000 and fft["verifies"]
    assert by_name["factorial"]["presets"]["paper"]["workers"] == [1, 2, 4, 6, 8, 12]
    sharing = {name: (w["sharing"], w["sharing_by_variant"]) for name, w in by_name.items()}
    assert sharing["dict_churn"] == ("unclassified", {})  # user workloads: out of claims 2, 4
    assert sharing["json_parse"] == ("shared-read-only", {})  # threads share nothing mutable
    assert sharing["object_lists_nocopy"] == ("shared-mutable", {})
    assert sharing["factorial"] == ("independent", {})
    assert sharing["shared_state"] == ("shared-mutable", {"sharded": "independent"})


def _with(line: str) -> str:
    return USER_TOML.replace("workers = [1, 3]", f"workers = [1, 3]\n{line}")


def test_sharing_class_per_cell_follows_the_variant(tmp_path: Path) -> None:
    state = get_workload("shared_state")
    classes = {
        c.params["variant"]: state.sharing_of(c.params)
        for c in state.cells("quick", available_bytes=None)
    }
    assert classes == {
        "global-lock": "shared-mutable",
        "striped": "shared-mutable",
        "sharded": "independent",
        "queue": "shared-mutable",
    }
    declared = registry([_user_dir(tmp_path, _with('sharing = "shared-mutable"'))])
    assert declared["dict_churn"].sharing == "shared-mutable"
    with pytest.raises(ConfigError, match="sharing 'lots' is not one of"):
        registry([_user_dir(tmp_path, _with('sharing = "lots"'))])


def test_cli_list_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workloads", "list"]) == 0
    out = capsys.readouterr().out
    assert "object_lists_nocopy  [threaded-objects; threads]" in out
    assert "paper=150M,170M,190M,210M,230M,250M,275M" in out
    assert "verifies: the list equals 1..n (exact)" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nosuch"], "unknown workload 'nosuch'"),
        (["matmul", "--preset", "huge"], "unknown preset 'huge'"),
        (["matmul", "--param", "size=3"], "unknown matmul parameter 'size'"),
        (["matmul", "--param", "matrix_size"], "not NAME=VALUE"),
        (["matmul", "--workers", "0"], r"worker count \(0\): below the minimum 1"),
        (["matmul", "--workers", "two"], "not a list of integers"),
        (["numpy_blas", "--param", "size=1000000"], "MemAvailable"),
    ],
)
def test_cli_run_refuses_bad_input_before_running(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    store = tmp_path / "runs.db"
    code = main(["workloads", "run", *argv, "--python", "/nonexistent/python", "-o", str(store)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("gilwatt: error: ") and len(err.strip().splitlines()) == 1
    assert re.search(message, err)
    assert not store.exists()


@pytest.mark.skipif(not GIL_PYTHON.exists(), reason="needs the dev GIL build")
def test_cli_run_dry_run_prints_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "workloads",
            "run",
            "executors",
            "--python",
            str(GIL_PYTHON),
            "--preset",
            "tiny",
            "--workers",
            "1,2",
            "--dry-run",
        ]
    )
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6  # 3 variants x 2 worker counts
    assert all("executors.py --workers" in line for line in lines)


@pytest.mark.skipif(not GIL_PYTHON.exists(), reason="needs the dev GIL build")
def test_cli_run_profiles_a_tiny_workload(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store = tmp_path / "runs.db"
    code = main(
        [
            "workloads",
            "run",
            "matmul",
            "--python",
            str(GIL_PYTHON),
            "--preset",
            "tiny",
            "--workers",
            "2",
            "-o",
            str(store),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "matmul workers=2 matrix_size=48  kernel" in out and "verified" in out
    assert store.exists()


@pytest.mark.skipif(not GIL_PYTHON.exists(), reason="needs the dev GIL build")
def test_cli_run_reports_a_failed_verification(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GILWATT_WORKLOAD_CORRUPT", "1")
    code = main(
        [
            "workloads",
            "run",
            "bubble_sort",
            "--python",
            str(GIL_PYTHON),
            "--preset",
            "tiny",
            "-o",
            str(tmp_path / "r.db"),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1
    assert "VERIFICATION FAILED" in out
    assert "workload 'bubble_sort' failed verification" in err


def test_cli_without_action_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workloads"]) == 2
    assert "needs an action" in capsys.readouterr().err
