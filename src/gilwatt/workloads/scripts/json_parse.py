"""Threaded JSON parsing (the study's threads_objects json_parse).

Kernel: contiguous slices of one shared list of JSON strings, one ThreadPoolExecutor task per
slice; each task parses its records, reads nested fields, counts age buckets in a local dict,
merges dicts and round-trips the merged dict through ``dumps``/``loads``.

Verified: the slices tile the records exactly once; the merged age-bucket counts, the sum of
``id ^ age`` read back from the round-tripped dicts and the tag count equal values computed
arithmetically from the record index, without JSON (exact).
"""

import json
from concurrent.futures import ThreadPoolExecutor, as_completed

from _harness import check_coverage, check_equal, chunks, measured, parse_args, passed

NAME = "json_parse"


def build_payloads(count):
    dumps = json.dumps
    return [
        dumps(
            {
                "id": i,
                "dob": {"age": (i % 90) + 10},
                "active": (i % 3) == 0,
                "scores": {"math": (i % 50) / 10, "lang": (i % 40) / 10},
                "tags": ["tag%d" % (i % 5), "group%d" % (i % 7)],
            }
        )
        for i in range(count)
    ]


def parse_slice(start, end, payloads):
    loads, dumps = json.loads, json.dumps
    buckets = {}
    checksum = 0
    tags_seen = 0
    for payload in payloads[start:end]:
        record = loads(payload)
        age = int(record.get("dob", {}).get("age", 0))
        tags = record.get("tags", [])
        scores = record.get("scores", {})
        meta = record.get("meta", {}).copy()
        meta["age_bucket"] = age // 10
        meta["tag_count"] = len(tags)
        buckets[meta["age_bucket"]] = buckets.get(meta["age_bucket"], 0) + 1
        merged = {**scores, "age": age, "active": record.get("active", False), **meta}
        merged.setdefault("checksum", record["id"] ^ age)
        back = loads(dumps(merged))
        checksum += back["checksum"]
        tags_seen += back["tag_count"]
    return start, end, buckets, checksum, tags_seen


def kernel(payloads, workers, corrupt):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(parse_slice, start, end, payloads)
            for start, end in chunks(len(payloads), workers, corrupt)
        ]
        return [future.result() for future in as_completed(futures)]


def main():
    args = parse_args(__doc__, [("num_records", "int", 4000, "JSON records")])
    n = args.num_records
    payloads = build_payloads(n)

    with measured(NAME, args):
        results = kernel(payloads, args.workers, args.corrupt)

    check_coverage("records parsed", [(r[0], r[1]) for r in results], n)
    buckets, checksum, tags_seen = {}, 0, 0
    for _, _, part, part_checksum, part_tags in results:
        for bucket, count in part.items():
            buckets[bucket] = buckets.get(bucket, 0) + count
        checksum += part_checksum
        tags_seen += part_tags
    want_buckets, want_checksum = {}, 0
    for i in range(n):
        age = (i % 90) + 10
        want_buckets[age // 10] = want_buckets.get(age // 10, 0) + 1
        want_checksum += i ^ age
    check_equal("age bucket counts", buckets, want_buckets)
    check_equal("sum of id ^ age", checksum, want_checksum)
    check_equal("tags counted", tags_seen, 2 * n)
    passed(checksum)


if __name__ == "__main__":
    main()
