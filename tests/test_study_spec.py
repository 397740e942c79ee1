"""Study files: parsing, and every bad value reported with its file and line; nothing runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gilwatt.errors import ConfigError, UnknownNameError
from gilwatt.study.resolve import resolve_study
from gilwatt.study.spec import SUITES, SUITES_DIR, load_spec, parse_spec
from gilwatt.units import parse_duration_ns
from gilwatt.workloads import STUDY_WORKLOADS, registry
from study_fakes import fake_pair, fake_workloads, resolver_for

GOOD = """\
# a study
name = "demo"
seed = 7
reps = 4
preset = "quick"
modes = ["gil", "ft"]
workers = [1, 4]
cooldown = "1.5s"
idle_baseline = "2s"
interval = "5ms"
timeout = "none"

[interpreters]
gil = "cpython-3.13.5"
ft = "cpython-3.13.5t"

[workloads.alpha]
params = { n = 250 }
workers = [2]

[workloads.beta]
params = { size = 3, scale = 2 }

[workloads.seq]
"""


def write(tmp_path: Path, text: str, name: str = "study.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def resolve(spec, tmp_path: Path, **kwargs):  # type: ignore[no-untyped-def]
    gil, ft = fake_pair(tmp_path)
    kwargs.setdefault("resolver", resolver_for(gil, ft))
    kwargs.setdefault("pair_finder", lambda: (gil, ft))
    return resolve_study(spec, workloads=fake_workloads(), **kwargs)


def test_a_full_file_is_read_and_resolved(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD))
    assert (spec.name, spec.seed, spec.reps, spec.preset) == ("demo", 7, 4, "quick")
    assert spec.modes == ("gil", "ft")
    assert spec.cooldown_ns == 1_500_000_000 and spec.idle_baseline_ns == 2 * 10**9
    assert spec.interval_ns == 5_000_000 and spec.timeout_s is None
    study = resolve(spec, tmp_path)
    keys = [c.key for c in study.cells]
    # alpha: its own workers and n override; beta: the file's workers, float coerced; seq: no workers
    assert keys == [
        'alpha{"n":250}/w2',
        'beta{"scale":2.0,"size":3}/w1',
        'beta{"scale":2.0,"size":3}/w4',
        'seq{"n":5}/w1',
    ]
    assert study.interpreters["ft"].free_threaded and not study.interpreters["gil"].free_threaded


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        resolve(load_spec(path), tmp_path)
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ('name = "x"\ncolour = "red"\n', 2, ["unknown key 'colour'", "Valid: name, seed"]),
        (
            'modes = [\n  "gil",\n  "gill",\n]\n',
            3,
            ["unknown mode 'gill'", "Valid: gil, ft, ft-gil"],
        ),
        (
            "reps = 3\n\n[workloads.alpha]\nparams = { n = 5 }\nworker = [2]\n",
            5,
            ["unknown key 'worker' in [workloads.alpha]", "Valid: params, workers"],
        ),
        (
            "[workloads.alpha]\n[workloads.gamma]\n",
            2,
            ["unknown workload 'gamma'", "Valid: alpha, beta, seq"],
        ),
        (
            'workloads = ["alpha",\n  "delta"]\n',
            2,
            ["unknown workload 'delta'", "Valid: alpha, beta, seq"],
        ),
        (
            "[workloads.alpha]\nparams = { n = 5, m = 2 }\n",
            2,
            ["workload 'alpha' has no parameter 'm'", "Valid: n"],
        ),
        (
            '[workloads.alpha]\nparams = { n = "big" }\n',
            2,
            ["alpha.n ('big'): must be of type int"],
        ),
        (
            'seed = 1\n[interpreters]\ngil = "cpython-3.13.5"\nft = "cpython-9.9t"\n',
            4,
            ["unknown interpreter 'cpython-9.9t'", "Valid: cpython-3.13.5, cpython-3.13.5t"],
        ),
        (
            '[interpreters]\ngil = "cpython-3.13.5t"\n',
            2,
            ["interpreters.gil", "is a free-threaded build"],
        ),
        (
            '[interpreters]\nnogil = "x"\n',
            2,
            ["unknown key 'nogil' in [interpreters]", "Valid: gil, ft"],
        ),
        ("reps = 0\n", 1, ["reps (0): must be a whole number >= 1"]),
        ('\ncooldown = "soon"\n', 2, ["cooldown ('soon'): not a duration"]),
        ("workers = [1, 0]\n", 1, ["workers (0): must be a whole number >= 1"]),
        ('preset = "huge"\n', 1, ["has no preset 'huge'", "Valid: quick, tiny"]),
        ('name = "x"\nreps = = 3\n', 2, ["not valid TOML"]),
    ],
)
def test_bad_values_name_the_file_and_line(
    tmp_path: Path, text: str, line: int, expected: list[str]
) -> None:
    message = error_of(tmp_path, text)
    assert f"study.toml:{line}: " in message
    for part in expected:
        assert part in message


def test_unknown_names_keep_their_error_type(tmp_path: Path) -> None:
    path = write(tmp_path, 'seed = 1\n[interpreters]\nft = "nope"\n')
    with pytest.raises(UnknownNameError):
        resolve(load_spec(path), tmp_path)


def test_a_mode_without_its_interpreter_is_refused(tmp_path: Path) -> None:
    text = '[interpreters]\ngil = "cpython-3.13.5"\n'  # modes default to all three
    message = error_of(tmp_path, text)
    assert "mode ft, ft-gil needs a free-threaded interpreter" in message
    spec = parse_spec('modes = ["gil"]\n' + text, "s.toml")
    assert resolve(spec, tmp_path).interpreters.keys() == {"gil"}


def test_python_flag_classifies_builds_and_refuses_two_of_a_kind(tmp_path: Path) -> None:
    gil, ft = fake_pair(tmp_path)
    spec = parse_spec("", "s.toml")
    study = resolve(spec, tmp_path, python=[ft.executable, gil.name])
    assert study.interpreters == {"gil": gil, "ft": ft}
    with pytest.raises(ConfigError, match="a second free-threaded build"):
        (tmp_path / "py-other").symlink_to("/bin/true")
        other = type(ft)("other-t", str(tmp_path / "py-other"), free_threaded=True)
        resolve(spec, tmp_path, python=[ft.name, "other-t"], resolver=resolver_for(gil, ft, other))


def test_no_pair_found_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="gilwatt interpreters provision"):
        resolve(parse_spec("", "s.toml"), tmp_path, pair_finder=lambda: None)


def test_workloads_subset(tmp_path: Path) -> None:
    spec = parse_spec("", "s.toml")
    study = resolve(spec, tmp_path, only=["seq"])
    assert [c.workload for c in study.cells] == ["seq"]
    with pytest.raises(ConfigError, match=r"--workloads \(zeta\): not a workload of this study"):
        resolve(spec, tmp_path, only=["zeta"])


def test_flags_override_the_file_and_errors_name_the_flag(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD))
    spec = spec.override("--workers", workers=(8,))
    study = resolve(spec, tmp_path)
    assert {c.workers for c in study.cells if c.workload != "seq"} == {8}  # beats [workloads.alpha]
    spec = parse_spec('[interpreters]\ngil = "cpython-3.13.5"\n', "s.toml").override(
        "--modes", modes=("ft-gil",)
    )
    with pytest.raises(ConfigError, match="needs a free-threaded interpreter"):
        resolve(spec, tmp_path)


def test_durations() -> None:
    assert parse_duration_ns("10ms", "x") == 10_000_000
    assert parse_duration_ns("2", "x") == 2 * 10**9
    assert parse_duration_ns(0.5, "x") == 500_000_000
    assert parse_duration_ns("1m", "x") == 60 * 10**9
    assert parse_duration_ns("250us", "x") == 250_000
    for bad in ("-1s", "fast", True, "1 fortnight"):
        with pytest.raises(ConfigError):
            parse_duration_ns(bad, "x")


def test_the_hash_ignores_reps_and_pauses_but_not_the_matrix(tmp_path: Path) -> None:
    base = resolve(parse_spec("", "s.toml"), tmp_path)
    longer = resolve(parse_spec('reps = 9\ncooldown = "3s"\ntimeout = "1m"\n', "s.toml"), tmp_path)
    assert base.spec_hash() == longer.spec_hash()
    for text in (
        "seed = 2\n",
        'modes = ["gil", "ft"]\n',
        "workers = [1]\n",
        'interval = "20ms"\n',
        "[workloads.alpha]\n",
    ):
        assert resolve(parse_spec(text, "s.toml"), tmp_path).spec_hash() != base.spec_hash(), text


# suite -> (preset, workloads: None means every registered workload)
BUNDLED = {
    # the study's 13 scenarios and one lock-contention pattern for claim 4
    "quick": ("quick", (*STUDY_WORKLOADS, "shared_state")),
    "patterns": ("quick", ("executors", "shared_state", "read_only", "mixed_io")),
    "paper": ("paper", None),
    "tiny": ("tiny", None),
}


@pytest.mark.parametrize("suite", SUITES)
def test_bundled_suites_parse_and_use_their_preset(suite: str) -> None:
    spec = load_spec(SUITES_DIR / f"{suite}.toml")
    preset, workloads = BUNDLED[suite]
    assert spec.name == suite and spec.preset == preset
    names = None if spec.workloads is None else tuple(entry.name for entry in spec.workloads)
    assert names == workloads


def test_example_file_is_valid_against_the_real_registry(tmp_path: Path) -> None:
    gil, ft = fake_pair(tmp_path)
    spec = load_spec(SUITES_DIR / "example.toml")
    study = resolve_study(
        spec,
        workloads=registry(),
        resolver=lambda name: gil if name.endswith("5") else ft,
    )
    assert len(study.cells) >= 2
