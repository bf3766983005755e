#!/usr/bin/env python3
"""Summarises `fauxto project --json` over many photos as a Markdown table (or, given a
directory, the metadata of the latents in it).

The descriptor and the landmarks are in the projection's loss; PSNR, age and gender are not
optimised against any network the figures come from (PSNR is the pixel loss's own measure).
"""
import json
import pathlib
import statistics
import struct
import sys


def from_latents(directory):
    """Reports rebuilt from the latent files' own metadata (for a run cut short)."""
    reports = []
    for latent in sorted(pathlib.Path(directory).glob("*.latent.safetensors")):
        raw = latent.read_bytes()
        header = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])
        meta = json.loads(header["__metadata__"]["fauxto.projection"])
        reports.append({"photo": meta["photo_name"], "plus": meta["plus"],
                        "fidelity": meta["fidelity"]})
    return reports


def main(path):
    if pathlib.Path(path).is_dir():
        reports = from_latents(path)
    else:
        reports = json.load(open(path))
    done = [r for r in reports if "fidelity" in r]
    failed = len(reports) - len(done)
    if not done:
        print("no photo was projected")
        return
    f = [r["fidelity"] for r in done]
    psnr = [x["psnr"] for x in f]
    dist = [x["descriptor_distance"] for x in f if x.get("descriptor_distance") is not None]
    lm = [x["landmark_error"] for x in f if x.get("landmark_error") is not None]
    ages = [x["age"] for x in f if x.get("age")]
    fem = [x["female"] for x in f if x.get("female")]
    secs = [r["seconds"] for r in done if "seconds" in r]
    age_err = [abs(a - b) for a, b in ages]
    gender_agree = [(a > 0.5) == (b > 0.5) for a, b in fem]

    def q(v, p):
        v = sorted(v)
        return v[min(len(v) - 1, int(p * len(v)))]

    print(f"{len(done)} photos projected, {failed} without a readable face; "
          f"{'W+' if done[0]['plus'] else 'W'}\n")
    print("| measure | in the loss | mean | median | 10th pct | 90th pct | goal |")
    print("|---|---|---|---|---|---|---|")
    print(f"| PSNR, dB | pixels | {statistics.mean(psnr):.2f} | {statistics.median(psnr):.2f} "
          f"| {q(psnr, 0.1):.2f} | {q(psnr, 0.9):.2f} | ≥ 22 (W+) |")
    if dist:
        share = sum(d < 0.6 for d in dist) / len(dist)
        print(f"| descriptor distance | yes | {statistics.mean(dist):.3f} | "
              f"{statistics.median(dist):.3f} | {q(dist, 0.1):.3f} | {q(dist, 0.9):.3f} | "
              f"< 0.6 for ≥ 90 % (here {100 * share:.1f} %) |")
    if lm:
        print(f"| landmark error / inter-ocular | yes | {statistics.mean(lm):.3f} | "
              f"{statistics.median(lm):.3f} | {q(lm, 0.1):.3f} | {q(lm, 0.9):.3f} | |")
    if age_err:
        print(f"| judged age difference, years | no | {statistics.mean(age_err):.1f} | "
              f"{statistics.median(age_err):.1f} | {q(age_err, 0.1):.1f} | "
              f"{q(age_err, 0.9):.1f} | |")
    if gender_agree:
        print(f"| judged gender agrees | no | {100 * sum(gender_agree) / len(gender_agree):.1f} % "
              f"| | | | |")
    # UTKFace names its files age_gender_race_date (gender 0 male, 1 female): labels no
    # network made, for the photo's own judged values and the projection's alike.
    labelled = []
    for r in done:
        parts = r["photo"].rsplit("/", 1)[-1].split("_")
        if len(parts) >= 3 and parts[0].isdigit() and parts[1] in ("0", "1"):
            labelled.append((int(parts[0]), parts[1] == "1", r["fidelity"]))
    if labelled:
        def agree(k):
            return 100 * sum((x[2]["female"][k] > 0.5) == x[1] for x in labelled) / len(labelled)

        def age_mae(k):
            return statistics.mean(abs(x[2]["age"][k] - x[0]) for x in labelled)

        print(f"| gender as labelled (UTKFace), photo / projection | no | {agree(0):.1f} % / "
              f"{agree(1):.1f} % | | | | |")
        print(f"| age error against the label, photo / projection, years | no | "
              f"{age_mae(0):.1f} / {age_mae(1):.1f} | | | | |")
    if secs:
        print(f"| seconds per photo | | {statistics.mean(secs):.1f} | "
              f"{statistics.median(secs):.1f} | {q(secs, 0.1):.1f} | {q(secs, 0.9):.1f} | ≤ 30 |")


if __name__ == "__main__":
    main(sys.argv[1])
