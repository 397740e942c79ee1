"""Threaded lists of dataclass objects (the study's threads_objects object_lists).

Kernel: contiguous slices of one shared list of ``Person`` dataclasses, one ThreadPoolExecutor
task per slice; each task copies its persons into a local list, duplicating the active ones
with age + 1, builds f-string display names, concatenates the list with its first half,
rebuilds it from its even and odd slices and assigns a slice in place.

Verified: the slices tile the persons exactly once; per slice, the final list length, the
number of names, the last name and the first and last persons (id and age) equal values
derived arithmetically from the person index (exact).
"""

from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from _harness import check_coverage, check_equal, chunks, measured, parse_args, passed

NAME = "object_lists"


@dataclass
class Person:
    person_id: int
    first_name: str
    last_name: str
    age: int
    active: bool


def build_people(count):
    return [Person(i, "Name%d" % i, "Surname%d" % i, i % 80, (i & 1) == 0) for i in range(count)]


def process_slice(start, end, people):
    processed = []
    for person in people[start:end]:
        processed.append(person)
        if person.active:
            processed.append(
                Person(
                    person_id=person.person_id,
                    first_name=person.first_name,
                    last_name=person.last_name,
                    age=person.age + 1,
                    active=person.active,
                )
            )
    names = [f"{p.first_name} {p.last_name}" for p in processed]
    processed = processed + processed[: len(processed) // 2]
    processed = processed[::2] + processed[1::2]
    processed[: len(names)] = processed[: len(names)]
    first, last = processed[0], processed[-1]
    return (
        start,
        end,
        len(processed),
        len(names),
        names[-1],
        (first.person_id, first.age),
        (last.person_id, last.age),
    )


def kernel(people, workers, corrupt):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(process_slice, start, end, people)
            for start, end in chunks(len(people), workers, corrupt)
        ]
        return [future.result() for future in as_completed(futures)]


def expected_slice(start, end):
    """The same summary, from indices alone: (id, age) of each entry of the local list."""
    entries = []
    for i in range(start, end):
        entries.append((i, i % 80))
        if (i & 1) == 0:
            entries.append((i, i % 80 + 1))
    p = len(entries)
    doubled = entries + entries[: p // 2]
    merged = doubled[::2] + doubled[1::2]
    last_id = entries[-1][0]
    return (
        start,
        end,
        len(merged),
        p,
        "Name%d Surname%d" % (last_id, last_id),
        merged[0],
        merged[-1],
    )


def main():
    args = parse_args(__doc__, [("num_records", "int", 5000, "Person objects")])
    n = args.num_records
    people = build_people(n)

    with measured(NAME, args):
        results = kernel(people, args.workers, args.corrupt)

    check_coverage("persons processed", [(r[0], r[1]) for r in results], n)
    total = 0
    for result in sorted(results):
        check_equal(
            "slice %d..%d" % (result[0], result[1]), result, expected_slice(result[0], result[1])
        )
        total += result[2]
    passed(total)


if __name__ == "__main__":
    main()
