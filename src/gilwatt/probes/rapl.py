"""RAPL energy counters through the powercap sysfs tree.

Every path is taken under ``root`` (``/`` on a real machine, a fake tree in tests). Zones are the
entries of ``<root>/sys/class/powercap`` named ``<type>:N`` or ``<type>:N:M`` where ``<type>``
contains ``rapl`` (``intel-rapl`` on Intel *and* AMD, ``intel-rapl-mmio``, ``intel-rapl-tpmi``;
an ``amd-rapl`` type is accepted too).

Which zones make the total (``counted``), so that no energy is counted twice:

1. Per package (``package-N``, or ``package-N-die-M`` on multi-die parts) one control type is
   used, in the order intel-rapl (MSR) > amd-rapl > intel-rapl-tpmi > intel-rapl-mmio. The
   others are copies of the same counter and are kept uncounted.
2. Counted: every package zone plus every ``dram`` zone (sub-zone or top-level). RAPL's package
   domain does not include DRAM even though powercap shows dram as the package's child.
3. Not counted: ``core`` / ``uncore`` (parts of their package), ``psys`` (a platform view that
   already contains the packages, and on client parts DRAM), and unknown names.
4. Mirrored dies: AMD Zen 1/2 multi-die parts show one zone per die that all read the same
   socket counter (codecarbon#1274). Die zones of one package whose readings at open agree within
   0.1 % of the counter range are one counter; only the lowest die is counted.
5. No package zone at all but a psys zone: psys alone is counted.

Counters are raw 32-bit accumulators scaled to µJ that wrap at ``max_energy_range_uj``; a reading
below the previous one adds the range once. Both files are root-only since the 2020 PLATYPUS fix
(CVE-2020-8694), so an unreadable counter raises ``ProbeUnavailable`` with the fix as its hint.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gilwatt.errors import ProbeUnavailable
from gilwatt.probes import Availability

POWERCAP_DIR = "sys/class/powercap"
ZONE_RE = re.compile(r"^(?P<ctype>[a-z][a-z0-9-]*rapl[a-z0-9-]*):(?P<index>\d+(?::\d+)?)$")
PACKAGE_RE = re.compile(r"^package-(?P<pkg>\d+)(?:-die-(?P<die>\d+))?$")
CTYPE_PREFERENCE = ("intel-rapl", "amd-rapl", "intel-rapl-tpmi", "intel-rapl-mmio")
DEFAULT_MAX_POWER_W = 500.0  # when the zone states no max power: above any socket's TDP
MIRROR_TOLERANCE = 1e-3  # of the counter range
READ_SIZE = 32  # energy_uj is at most 20 digits and a newline

PERMISSION_FIX = (
    "Fix: groupadd -r powercap && usermod -aG powercap $USER, add to /etc/tmpfiles.d/powercap.conf "
    "'z /sys/class/powercap/intel-rapl:*/energy_uj 0440 root powercap -' and the same line for "
    "max_energy_range_uj, run systemd-tmpfiles --create and log in again "
    '(or a udev rule: SUBSYSTEM=="powercap", ACTION=="add", '
    'RUN+="/bin/chgrp powercap /sys%p/energy_uj /sys%p/max_energy_range_uj", '
    'RUN+="/bin/chmod g+r /sys%p/energy_uj /sys%p/max_energy_range_uj").'
)

Opener = Callable[[str, int], int]  # os.open's shape; tests inject one that refuses


@dataclass
class RaplZone:
    """One powercap zone, with the decision whether it is part of the total."""

    sysname: str  # "intel-rapl:0:2"
    ctype: str  # "intel-rapl"
    name: str  # contents of the zone's name file: "package-0", "dram", "psys"
    kind: str  # package | core | uncore | dram | psys | other
    zone: str  # gilwatt's id: "rapl:package-0", "rapl:package-0/dram", "rapl:psys"
    parent: str | None  # id of the parent zone
    dir_path: str  # root-relative, e.g. "/sys/class/powercap/intel-rapl:0"
    package: int | None
    die: int | None
    max_range_uj: int | None  # None when max_energy_range_uj is unreadable
    max_power_w: float  # for the wrap-period and plausibility checks
    counted: bool = False
    why: str = ""  # why counted or not (shown by describe)

    @property
    def energy_path(self) -> str:
        return f"{self.dir_path}/energy_uj"

    @property
    def wrap_period_s(self) -> float | None:
        if not self.max_range_uj:
            return None
        return self.max_range_uj / (self.max_power_w * 1e6)


def powercap_dir(root: Path) -> Path:
    return root / POWERCAP_DIR


def available(root: Path = Path("/")) -> Availability:
    """Whether RAPL counters can be read here, and why not (opens every counter once)."""
    try:
        meter = open_rapl(root)
    except ProbeUnavailable as exc:
        return Availability(False, exc.reason)
    meter.close()
    return Availability(True, f"RAPL counters readable: {meter.source}")


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _read_int(path: Path) -> int | None:
    text = _read_text(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _kind(name: str) -> str:
    if PACKAGE_RE.match(name):
        return "package"
    return name if name in ("core", "uncore", "dram", "psys") else "other"


def _zone_id(ctype: str, name: str, parent_name: str | None) -> str:
    prefix = "rapl" + ctype.split("rapl", 1)[1]  # intel-rapl -> rapl, intel-rapl-mmio -> rapl-mmio
    return f"{prefix}:{parent_name}/{name}" if parent_name else f"{prefix}:{name}"


def discover(root: Path = Path("/")) -> list[RaplZone]:
    """Walk the powercap class directory; parents come before their children.

    Raises ProbeUnavailable when there is no powercap directory at all.
    """
    base = powercap_dir(root)
    try:
        entries = sorted(os.listdir(base))
    except FileNotFoundError:
        raise ProbeUnavailable(
            "rapl", f"no /{POWERCAP_DIR}: no powercap driver (a VM, or intel_rapl_msr not loaded)"
        ) from None
    except OSError as exc:
        raise ProbeUnavailable("rapl", f"/{POWERCAP_DIR}: {exc.strerror}") from None
    raw: list[tuple[str, str, tuple[int, ...]]] = []
    for entry in entries:
        match = ZONE_RE.match(entry)
        if match:
            index = tuple(int(i) for i in match["index"].split(":"))
            raw.append((entry, match["ctype"], index))
    raw.sort(key=lambda r: (r[1], r[2]))  # numeric order: intel-rapl:10 after intel-rapl:2
    names: dict[str, str] = {}
    ids: dict[str, str] = {}
    zones: list[RaplZone] = []
    for sysname, ctype, index in raw:
        zdir = base / sysname
        name = _read_text(zdir / "name") or sysname
        names[sysname] = name
        parent_sys = f"{ctype}:{index[0]}" if len(index) > 1 else None
        parent_name = names.get(parent_sys) if parent_sys else None
        zone_id = _zone_id(ctype, name, parent_name)
        if zone_id in ids.values():  # two zones of one name (should not happen): keep both
            zone_id = f"{zone_id}@{sysname}"
        ids[sysname] = zone_id
        pkg_match = PACKAGE_RE.match(name) or (
            PACKAGE_RE.match(parent_name) if parent_name else None
        )
        max_power_uw = _read_int(zdir / "constraint_0_max_power_uw")
        zones.append(
            RaplZone(
                sysname=sysname,
                ctype=ctype,
                name=name,
                kind=_kind(name),
                zone=zone_id,
                parent=ids.get(parent_sys) if parent_sys else None,
                dir_path=f"/{POWERCAP_DIR}/{sysname}",
                package=int(pkg_match["pkg"]) if pkg_match else None,
                die=int(pkg_match["die"]) if pkg_match and pkg_match["die"] else None,
                max_range_uj=_read_int(zdir / "max_energy_range_uj"),
                # 2x the stated maximum: RAPL may briefly exceed it, and a margin costs nothing
                max_power_w=2 * max_power_uw / 1e6 if max_power_uw else DEFAULT_MAX_POWER_W,
            )
        )
    return zones


def _preferred_ctype(zones: Sequence[RaplZone]) -> dict[tuple[int | None, int | None], str]:
    """For each (package, die): the control type whose copy of the counter is used."""
    best: dict[tuple[int | None, int | None], str] = {}
    rank = {c: i for i, c in enumerate(CTYPE_PREFERENCE)}
    for z in zones:
        if z.kind != "package":
            continue
        key = (z.package, z.die)
        if key not in best or rank.get(z.ctype, 99) < rank.get(best[key], 99):
            best[key] = z.ctype
    return best


def choose_counted(zones: list[RaplZone], readings: dict[str, int]) -> list[str]:
    """Set ``counted`` and ``why`` on every zone (rules in the module docstring).

    ``readings`` maps zone ids to a counter value read at open, for the mirrored-die check.
    Returns warnings.
    """
    best = _preferred_ctype(zones)
    by_id = {z.zone: z for z in zones}
    for z in zones:
        used = best.get((z.package, z.die)) if z.package is not None else None
        if used is not None and z.ctype != used:
            copy_of = next(
                (
                    o.zone
                    for o in zones
                    if o.ctype == used and o.package == z.package and o.name == z.name
                ),
                used,
            )
            z.counted, z.why = False, f"copy of {copy_of} (same counter, other interface)"
        elif z.kind == "package":
            z.counted, z.why = True, "package"
        elif z.kind == "dram":
            z.counted, z.why = True, "DRAM (not part of its package's counter)"
        elif z.kind in ("core", "uncore"):
            z.counted, z.why = False, f"included in {z.parent}"
        elif z.kind == "psys":
            z.counted, z.why = False, "platform view that already includes the packages"
        else:
            z.counted, z.why = False, "unknown zone name"
    warnings = _drop_mirrored_dies(zones, readings)
    if not any(z.counted for z in zones):
        psys = [z for z in zones if z.kind == "psys"]
        if psys:
            psys[0].counted, psys[0].why = True, "platform (no package zone on this machine)"
    for z in zones:  # a counted child under a counted parent would double count: never allow it
        if z.counted and z.parent and by_id[z.parent].counted and z.kind != "dram":
            z.counted, z.why = False, f"included in {z.parent}"
    return warnings


def _drop_mirrored_dies(zones: list[RaplZone], readings: dict[str, int]) -> list[str]:
    """Uncount die zones of one package that read the same counter as a lower die."""
    warnings = []
    dies: dict[int | None, list[RaplZone]] = {}
    for z in zones:
        if z.counted and z.kind == "package" and z.die is not None:
            dies.setdefault(z.package, []).append(z)
    for group in dies.values():
        group.sort(key=lambda z: z.die or 0)
        kept: list[RaplZone] = []
        for z in group:
            twin = next((k for k in kept if _same_counter(k, z, readings)), None)
            if twin is None:
                kept.append(z)
                continue
            z.counted, z.why = False, f"mirrors {twin.zone} (one socket counter shown per die)"
            warnings.append(
                f"energy: {z.zone} reads the same counter as {twin.zone} "
                "(multi-die part, codecarbon#1274); counted once."
            )
    return warnings


def _same_counter(a: RaplZone, b: RaplZone, readings: dict[str, int]) -> bool:
    ra, rb = readings.get(a.zone), readings.get(b.zone)
    if ra is None or rb is None or not ra:
        return False
    span = a.max_range_uj or b.max_range_uj or max(ra, rb)
    return abs(ra - rb) <= MIRROR_TOLERANCE * span


@dataclass
class RaplMeter:
    """Kept-open energy_uj descriptors, read with pread; cumulative wrap-corrected µJ per zone.

    Satisfies ``gilwatt.energy.EnergyMeter``. The first ``sample()`` after opening (or after
    ``rebase()``) sets the zero point and returns zeros.
    """

    source: str
    zones_info: list[RaplZone]
    fds: list[int]
    warnings: list[str] = field(default_factory=list)
    estimate: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.zones: list[tuple[str, str, str | None, int | None, int]] = [
            (z.zone, z.energy_path, z.parent, z.max_range_uj, int(z.counted))
            for z in self.zones_info
        ]
        self._ids = [z.zone for z in self.zones_info]
        self._counted = [z.counted for z in self.zones_info]
        self._ranges = [z.max_range_uj or 0 for z in self.zones_info]
        self._last = [0] * len(self.fds)
        self._acc = [0] * len(self.fds)
        self._last_t = 0
        self._first_t = 0
        self._started = False
        self._warned: set[str] = set()
        periods = [p for z in self.zones_info if z.counted and (p := z.wrap_period_s)]
        self.wrap_period_s: float | None = min(periods) if periods else None
        # a gap longer than half the shortest wrap period could hide a second wrap
        self._gap_limit_ns = int(self.wrap_period_s * 0.5e9) if self.wrap_period_s else 1 << 62
        self.details.setdefault("wrap_period_s", self.wrap_period_s)

    def rebase(self) -> None:
        """The next ``sample()`` sets a new zero point and returns zeros."""
        self._started = False

    def sample(
        self, t_ns: int, core_ticks: Sequence[tuple[int, int]] = ()
    ) -> tuple[int, dict[str, int]]:
        """(total µJ over counted zones, {zone: µJ}) cumulative since the zero point."""
        pread, fds, last, acc = os.pread, self.fds, self._last, self._acc
        if not self._started:
            for i, fd in enumerate(fds):
                last[i] = int(pread(fd, READ_SIZE, 0))
                acc[i] = 0
            self._started = True
            self._first_t = self._last_t = t_ns
            return 0, dict.fromkeys(self._ids, 0)
        if t_ns - self._last_t > self._gap_limit_ns:
            self._warn_gap(t_ns - self._last_t)
        dt_ns = t_ns - self._last_t
        self._last_t = t_ns
        total = 0
        out = {}
        ids, counted = self._ids, self._counted
        for i, fd in enumerate(fds):
            try:
                value = int(pread(fd, READ_SIZE, 0))
            except (OSError, ValueError) as exc:  # zone gone (driver unloaded): hold its value
                self._warn(ids[i] + ":read", f"energy: reading {ids[i]} failed ({exc}); held.")
                value = last[i]
            delta = value - last[i]
            if delta < 0:
                delta = self._wrapped(i, value, dt_ns)
            last[i] = value
            acc[i] += delta
            out[ids[i]] = acc[i]
            if counted[i]:
                total += acc[i]
        if not total and t_ns - self._first_t > 1_000_000_000 and "still" not in self._warned:
            self._warned.add("still")
            self.warnings.append(
                f"energy: the counted RAPL counters ({self.source}) did not move in 1 s; "
                "this machine may not implement them (seen on some AMD hosts and in VMs)."
            )
        return total, out

    def _wrapped(self, i: int, value: int, dt_ns: int) -> int:
        """Energy of an interval whose reading went backwards: a wrap, or a counter reset."""
        zone, span = self.zones_info[i], self._ranges[i]
        if not span:
            self._warn(
                zone.zone,
                f"energy: {zone.zone} went backwards and its range is unknown "
                f"({zone.dir_path}/max_energy_range_uj unreadable); that interval is dropped. "
                + PERMISSION_FIX,
            )
            return 0
        delta = value + span - self._last[i]
        # a "wrap" worth more than max power over the interval is a reset (driver reload, resume)
        if delta > zone.max_power_w * max(dt_ns, 1_000_000) * 1e-3:
            self._warn(
                zone.zone + ":reset", f"energy: {zone.zone} was reset; counting from 0 again."
            )
            return value
        return delta

    def _warn(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.warnings.append(message)

    def _warn_gap(self, gap_ns: int) -> None:
        self._warn(
            "gap",
            f"energy: {gap_ns / 1e9:.0f} s between two RAPL readings, longer than half the "
            f"shortest wrap period ({self.wrap_period_s:.0f} s at full power); a second wrap "
            "inside one interval would be missed.",
        )

    def close(self) -> None:
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds = []


def open_rapl(root: Path = Path("/"), *, opener: Opener = os.open) -> RaplMeter:
    """Discover, choose counted zones, open every energy_uj once.

    Raises ProbeUnavailable (with the permission fix as hint) when a zone that would be counted
    cannot be read; unreadable uncounted zones (core, psys...) are left out with a warning.
    ``opener`` is ``os.open`` except in tests, which inject one that refuses the way the kernel
    refuses a non-root user.
    """
    zones = discover(root)
    if not zones:
        raise ProbeUnavailable("rapl", f"no RAPL zones under /{POWERCAP_DIR}")
    opened: dict[str, int] = {}
    denied: dict[str, ProbeUnavailable] = {}
    try:
        for z in zones:
            try:
                opened[z.zone] = _open_counter(root, z, opener)
            except ProbeUnavailable as exc:
                denied[z.zone] = exc
        readings = {zone: int(os.pread(fd, READ_SIZE, 0)) for zone, fd in opened.items()}
        warnings = choose_counted(zones, readings)
        blocked = [z.zone for z in zones if z.counted and z.zone in denied]
        if blocked:
            raise denied[blocked[0]]
        if not any(z.counted for z in zones):
            names = ", ".join(z.zone for z in zones)
            raise ProbeUnavailable("rapl", f"no package, dram or psys zone among {names}")
    except BaseException:
        for fd in opened.values():
            os.close(fd)
        raise
    if denied:
        first = next(iter(denied.values()))
        warnings.append(
            f"energy: not recording {', '.join(denied)} ({first.reason}); the total does not need them."
        )
    for z in zones:
        if z.counted and z.max_range_uj is None:
            warnings.append(
                f"energy: {z.dir_path}/max_energy_range_uj is unreadable, so a wrap of {z.zone} "
                "cannot be corrected (that interval would be dropped). " + PERMISSION_FIX
            )
    kept = [z for z in zones if z.zone in opened]
    return RaplMeter(
        source=source_label([z.zone for z in kept if z.counted]),
        zones_info=kept,
        fds=[opened[z.zone] for z in kept],
        warnings=warnings,
    )


def source_label(counted: Sequence[str]) -> str:
    """ "rapl:package-0+package-0/dram+package-1" from the counted zone ids."""
    prefixes = {zone.split(":", 1)[0] for zone in counted}
    if len(prefixes) == 1:
        return prefixes.pop() + ":" + "+".join(zone.split(":", 1)[1] for zone in counted)
    return "+".join(counted)


def _open_counter(root: Path, zone: RaplZone, opener: Opener) -> int:
    path = str(root / zone.energy_path.lstrip("/"))
    try:
        fd = opener(path, os.O_RDONLY | os.O_CLOEXEC)
    except PermissionError:
        raise ProbeUnavailable(
            "rapl",
            f"cannot read {zone.energy_path}: permission denied (root-only since the 2020 "
            "PLATYPUS fix, CVE-2020-8694)",
            hint=PERMISSION_FIX,
        ) from None
    except OSError as exc:
        raise ProbeUnavailable("rapl", f"cannot open {zone.energy_path}: {exc.strerror}") from None
    try:
        int(os.pread(fd, READ_SIZE, 0))
    except PermissionError:  # some kernels refuse at read time rather than at open
        os.close(fd)
        raise ProbeUnavailable(
            "rapl", f"cannot read {zone.energy_path}: permission denied", hint=PERMISSION_FIX
        ) from None
    except (OSError, ValueError) as exc:
        os.close(fd)
        raise ProbeUnavailable("rapl", f"cannot read {zone.energy_path}: {exc}") from None
    return fd
