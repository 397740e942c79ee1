"""Programs for the advise tests: a C extension without Py_mod_gil, built here with gcc and the
free-threaded interpreter's headers."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

PROGRAMS = Path(__file__).parent / "advise_programs"

_EXT_SOURCE = """\
#include <Python.h>
static PyObject *f(PyObject *self, PyObject *unused) { return PyLong_FromLong(21); }
static PyMethodDef methods[] = {{"f", f, METH_NOARGS, ""}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "NAME", NULL, 0, methods};
PyMODINIT_FUNC PyInit_NAME(void) { return PyModuleDef_Init(&def); }
"""


def build_extension(python: str, name: str, dest: Path) -> Path:
    """Compile module ``name`` (no Py_mod_gil slot) for ``python`` into ``dest``."""
    info = subprocess.run(
        [python, "-c", "import sysconfig as s; print(s.get_paths()['include']);"
         " print(s.get_config_var('EXT_SUFFIX'))"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    source = dest / f"{name}.c"
    source.write_text(_EXT_SOURCE.replace("NAME", name))
    out = dest / f"{name}{info[1]}"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", f"-I{info[0]}", str(source), "-o", str(out)],
                   check=True, capture_output=True)  # fmt: skip
    return out


def cext_program(ft_python: str, gil_python: str, dest: Path) -> Path:
    """uses_cext.py with cext_a beside it and cext_b inside ``pkg``, for both builds."""
    for python in (ft_python, gil_python):
        build_extension(python, "cext_a", dest)
        build_extension(python, "cext_b", dest)
    (dest / "pkg").mkdir(exist_ok=True)
    (dest / "pkg" / "__init__.py").write_text("import cext_b\n")
    script = dest / "uses_cext.py"
    shutil.copy(PROGRAMS / "uses_cext.py", script)
    return script
