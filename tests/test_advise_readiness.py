"""Readiness pieces on their own: the culprit parser on CPython's real -v output, native pools
from a real process's mapped libraries, the output comparison's wording."""

from __future__ import annotations

from pathlib import Path

import pytest

import pythons
from gilwatt.advise import readiness as ready

# 3.13.5t -v -X importtime, trimmed: cext_a imported by the script, cext_b through pkg
STDERR = """\
<frozen importlib._bootstrap>:488: RuntimeWarning: The global interpreter lock (GIL) has been enabled to load module 'cext_a', which has not declared that it can run safely without the GIL.
# loading module 'cext_a', which requires the GIL
# extension module 'cext_a' loaded from '/t/cext_a.cpython-313t-x86_64-linux-gnu.so'
import time:       337 |      19707 | cext_a
# code object from /t/pkg/__init__.py
# loading module 'cext_b', which requires the GIL
# extension module 'cext_b' loaded from '/t/cext_b.cpython-313t-x86_64-linux-gnu.so'
import time:       266 |        266 |   cext_b
import time:      2928 |       3193 | pkg
"""


def test_every_culprit_with_its_path_and_chain(tmp_path: Path) -> None:
    main = tmp_path / "main.py"
    main.write_text("import os\nimport cext_a\nfrom pkg import thing\n")
    found = ready.parse_culprits(STDERR, str(main))
    assert [c.module for c in found] == ["cext_a", "cext_b"]
    assert found[0].path == "/t/cext_a.cpython-313t-x86_64-linux-gnu.so"
    assert found[0].chain == ["main.py:2", "cext_a"]
    assert found[1].chain == ["main.py:3", "pkg", "cext_b"]
    text = ready.culprit_findings(found)[0]
    assert text.level == "blocker" and "cext_a" in text.text and "cext_b" in text.text


def test_no_culprit_is_said_without_claiming_safety() -> None:
    (finding,) = ready.culprit_findings([])
    assert finding.level == "ok" and "thread-safe" not in finding.text


@pytest.mark.skipif(pythons.pair() is None, reason="no GIL / free-threaded pair")
def test_native_pool_of_a_real_process_and_the_fix() -> None:
    ft = str(pythons.ft_python())
    probe = ready.probe_run([ft, "-c", "import numpy, time; time.sleep(0.4)"], {}, None, 60)
    if probe.exit_code != 0:
        pytest.skip("numpy is not importable by the free-threaded interpreter here")
    assert any("openblas" in lib for lib in probe.libs), probe.libs
    env = {k: "" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    (warn,) = ready.pool_findings(probe.libs, 2, 2, {**env, "OPENBLAS_NUM_THREADS": "2"})
    assert warn.level == "warning" and "OPENBLAS_NUM_THREADS=1" in warn.fix
    (fine,) = ready.pool_findings(probe.libs, 2, 2, {**env, "OPENBLAS_NUM_THREADS": "1"})
    assert fine.level == "ok"
    assert ready.pool_findings([], 8, 2, {}) == []


def test_output_comparison_wording() -> None:
    same = ready.compare_outputs({"gil": [b"1", b"1"], "ft threads=2": [b"1"]}, {})
    assert same[0].level == "ok" and "no difference seen in these runs" in same[0].text
    race = ready.compare_outputs({"gil": [b"1", b"1"], "ft threads=2": [b"2", b"2"]}, {})
    assert race[0].level == "warning" and "possible race" in race[0].text
    noisy = ready.compare_outputs({"gil": [b"1", b"2"], "ft threads=2": [b"3"]}, {})
    assert "not compared" in noisy[0].text
    failed = ready.compare_outputs({}, {"ft threads=2": 2})
    assert failed[0].level == "blocker"
    for finding in (*same, *race, *noisy, *failed):
        assert "thread-safe" not in finding.text


def test_pair_flags_that_differ_are_listed_and_versions_must_match() -> None:
    from types import SimpleNamespace

    from gilwatt.errors import ConfigError

    def interp(name: str, version: str, args: str) -> SimpleNamespace:
        return SimpleNamespace(name=name, version=version, config_args=args, prefix="/p/" + name,
                               extra={})  # fmt: skip

    gil = interp("a", "3.13.5", "'--prefix=/p/a' '--enable-optimizations'")
    ft = interp("b", "3.13.5", "'--prefix=/p/b' '--disable-gil' '--with-lto'")
    found = ready.check_pair(gil, ft)
    assert found[-1].level == "warning"
    assert "GIL build only: --enable-optimizations" in found[-1].text
    assert "free-threaded only: --with-lto" in found[-1].text
    listed = found[-1].text.split("besides --disable-gil:")[1]
    assert "prefix" not in listed and "--disable-gil" not in listed
    same = ready.check_pair(gil, interp("b", "3.13.5", "'--prefix=/p/b' '--enable-optimizations'"))
    assert [f.level for f in same] == ["ok"]
    with pytest.raises(ConfigError):
        ready.check_pair(gil, interp("b", "3.14.0", ""))
