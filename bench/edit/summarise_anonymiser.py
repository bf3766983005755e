#!/usr/bin/env python3
"""Summarises `fauxto anonymize --json` over many photos: how many look-alikes were found,
how well their judged attributes agree with the photo's, and how far their identity
descriptors are from it (face-api's same-person threshold is 0.6)."""
import json
import statistics
import sys


def main(path):
    reports = json.load(open(path))
    if isinstance(reports, dict):
        reports = [reports]
    ok = [r for r in reports if "error" not in r]
    wanted = 8
    written = [w for r in ok for w in r["written"]]
    full = sum(1 for r in ok if len(r["written"]) >= wanted)
    agree = {"gender": 0, "expression": 0, "age ±8": 0, "yaw ±10°": 0}
    age_err, yaw_err, distances = [], [], []
    for r in ok:
        t = r["target"]
        for w in r["written"]:
            l = w["look_alike"]
            agree["gender"] += l["female"] == t["female"]
            agree["expression"] += l["expression"] == t["expression"]
            agree["age ±8"] += abs(l["age"] - t["age"]) <= 8
            agree["yaw ±10°"] += abs(l["yaw"] - t["yaw"]) <= 10
            age_err.append(abs(l["age"] - t["age"]))
            yaw_err.append(abs(l["yaw"] - t["yaw"]))
            distances.append(l["distance"])
    print(f"- photos: {len(reports)} ({len(reports) - len(ok)} without a readable face)")
    print(f"- look-alikes written: {len(written)} ({full} of {len(ok)} photos got all {wanted})")
    if written:
        for k, v in agree.items():
            print(f"- {k} agrees: {100 * v / len(written):.0f}%")
        print(f"- mean |age difference| {statistics.mean(age_err):.1f} years, "
              f"mean |yaw difference| {statistics.mean(yaw_err):.1f}°")
        q = statistics.quantiles(distances, n=10) if len(distances) > 1 else distances * 9
        print(f"- descriptor distance to the photo: min {min(distances):.2f}, "
              f"10th percentile {q[0]:.2f}, median {statistics.median(distances):.2f}, "
              f"max {max(distances):.2f} (all ≥ 0.6 by construction)")
    candidates = [c for r in ok for c in r["candidates"]]
    if candidates:
        rejected_identity = sum(1 for c in candidates if c["distance"] < 0.6)
        print(f"- candidates judged: {len(candidates)}; {rejected_identity} "
              f"({100 * rejected_identity / len(candidates):.1f}%) too close to the photo's identity")


if __name__ == "__main__":
    main(sys.argv[1])
