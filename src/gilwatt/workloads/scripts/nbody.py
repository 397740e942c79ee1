"""Threaded pure-Python n-body (the study's threads_numerical nbody).

Kernel: naive O(N^2) gravitation over particles on a cubic lattice; at every step a *new*
ThreadPoolExecutor (as in the study) computes contiguous blocks of particles from the
previous state, and the main thread reassembles the new state.

Verified: after every step each particle was updated exactly once; at every step the
particles at block boundaries plus 8 spread ones are recomputed sequentially from the
previous state; the whole last step is recomputed sequentially. All comparisons are exact.
"""

import math
from concurrent.futures import ThreadPoolExecutor

from _harness import (
    boundaries,
    check_equal,
    chunks,
    failed,
    measured,
    parse_args,
    passed,
    sample_indices,
)

NAME = "nbody"
G = 6.67430e-11
DT = 0.01
SOFTENING = 1e-9


def initial_state(count):
    side = round(count ** (1.0 / 3.0)) or 1
    scale = 1e3
    positions = []
    for i in range(count):
        positions.append(
            (
                ((i % side) - side / 2) * scale,
                (((i // side) % side) - side / 2) * scale,
                ((i // (side * side)) - side / 2) * scale,
            )
        )
    velocities = [(0.0, 0.0, 0.0 if i % 2 == 0 else 1e-3) for i in range(count)]
    return positions, velocities


def advance(start, end, positions, velocities):
    """New positions and velocities of particles start..end-1 (pure Python)."""
    count = len(positions)
    new_positions = []
    new_velocities = []
    for i in range(start, end):
        px, py, pz = positions[i]
        ax = ay = az = 0.0
        for j in range(count):
            if i == j:
                continue
            ox, oy, oz = positions[j]
            dx = ox - px
            dy = oy - py
            dz = oz - pz
            inv = 1.0 / math.sqrt(dx * dx + dy * dy + dz * dz + SOFTENING)
            factor = G * inv * inv * inv
            ax += factor * dx
            ay += factor * dy
            az += factor * dz
        vx, vy, vz = velocities[i]
        vx += ax * DT
        vy += ay * DT
        vz += az * DT
        new_velocities.append((vx, vy, vz))
        new_positions.append((px + vx * DT, py + vy * DT, pz + vz * DT))
    return start, new_positions, new_velocities


def kernel(positions, velocities, steps, workers, corrupt):
    count = len(positions)
    history = [(positions, velocities)]
    for _ in range(steps):
        new_positions = [None] * count
        new_velocities = [None] * count
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [
                pool.submit(advance, start, end, positions, velocities)
                for start, end in chunks(count, workers)
            ]
            for future in futures:
                start, block_positions, block_velocities = future.result()
                new_positions[start : start + len(block_positions)] = block_positions
                new_velocities[start : start + len(block_velocities)] = block_velocities
        if corrupt:  # a lost update, as a data race would make: one particle keeps its old state
            new_positions[-1], new_velocities[-1] = positions[-1], velocities[-1]
        positions, velocities = new_positions, new_velocities
        history.append((positions, velocities))
    return history


def main():
    args = parse_args(
        __doc__,
        [
            ("num_particles", "int", 60, "particles"),
            ("num_steps", "int", 3, "time steps"),
        ],
    )
    count = args.num_particles
    positions, velocities = initial_state(count)

    with measured(NAME, args):
        history = kernel(positions, velocities, args.num_steps, args.workers, args.corrupt)

    sample = sample_indices(count, 8, boundaries(count, args.workers))
    for step in range(1, len(history)):
        before, after = history[step - 1], history[step]
        if None in after[0] or None in after[1]:
            failed("step %d: particle %d was never updated" % (step, after[0].index(None)))
        for i in sample:
            _, want_p, want_v = advance(i, i + 1, before[0], before[1])
            check_equal("step %d position of particle %d" % (step, i), after[0][i], want_p[0])
            check_equal("step %d velocity of particle %d" % (step, i), after[1][i], want_v[0])
    if args.num_steps:
        _, want_p, want_v = advance(0, count, history[-2][0], history[-2][1])
        check_equal("positions after the last step", history[-1][0], want_p)
        check_equal("velocities after the last step", history[-1][1], want_v)
    final_p, final_v = history[-1]
    passed(math.fsum(c for vector in final_p + final_v for c in vector))


if __name__ == "__main__":
    main()
