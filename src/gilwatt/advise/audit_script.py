"""Run by the free-threaded interpreter (stdlib only): classify its distributions offline and
name the distribution owning each path given on the command line. Prints one JSON object."""

import importlib.machinery
import importlib.metadata
import json
import os
import re
import sys

OWN = tuple(importlib.machinery.EXTENSION_SUFFIXES)
TAGGED = re.compile(r"\.cpython-(\d+)(t?)-[^.]*\.so$")


def classify(files: list[object]) -> str:
    kinds = set()
    for f in files:
        name = str(f)
        if not (name.endswith(".so") or name.endswith(".pyd")):
            continue
        base = os.path.basename(name)
        if base.startswith("lib") or ".libs/" in name:  # a bundled shared library, not a module
            continue
        if name.endswith(".abi3.so") or name.endswith(".abi3.pyd"):
            kinds.add("abi3-only")
        elif name.endswith(OWN) and TAGGED.search(name):
            kinds.add("ft-extension")
        elif TAGGED.search(name):
            kinds.add("wrong-tag")
        else:
            kinds.add("untagged")
    for bad in ("wrong-tag", "abi3-only", "untagged", "ft-extension"):
        if bad in kinds:
            return bad
    return "pure"


def main() -> None:
    wanted = {os.path.realpath(p): p for p in sys.argv[1:]}
    dists: list[dict[str, str]] = []
    owners: dict[str, dict[str, str]] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"] or "?"
        files: list[object] = list(dist.files or ())
        dists.append({"name": name, "version": dist.version, "class": classify(files)})
        for f in files:
            try:
                real = os.path.realpath(str(dist.locate_file(str(f))))
            except Exception:
                continue
            if real in wanted:
                owners[wanted[real]] = {"name": name, "version": dist.version}
    print(json.dumps({"distributions": dists, "owners": owners}))


main()
