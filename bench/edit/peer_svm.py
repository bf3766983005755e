#!/usr/bin/env python3
"""InterFaceGAN's own classifier beside fauxto's, on the same scored samples.

InterFaceGAN (Shen et al. 2020, utils/manipulator.py `train_boundary`) fits scikit-learn's
linear SVM to the latents of the highest and lowest scores and takes the unit normal of
its hyperplane as the direction. This script does that on the samples `fauxto directions
--save-samples` wrote (same extremes, same held-out seeds: last digit 0-2), and compares
held-out accuracy and the angle with fauxto's logistic directions.

    python3 bench/edit/peer_svm.py SAMPLES.safetensors DIRECTIONS.safetensors [--extremes 0.1]
"""
import argparse
import json
import struct
import time

import numpy as np
from sklearn import svm


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = raw[8 + n:]
    out = {}
    for name, t in header.items():
        a, b = t["data_offsets"]
        assert t["dtype"] == "F32", t["dtype"]
        out[name] = np.frombuffer(body[a:b], dtype="<f4").reshape(t["shape"])
    return out, meta


def main():
    p = argparse.ArgumentParser()
    p.add_argument("samples")
    p.add_argument("directions")
    p.add_argument("--extremes", type=float, default=0.1)
    args = p.parse_args()
    samples, meta = read_safetensors(args.samples)
    directions, dmeta = read_safetensors(args.directions)
    attributes = meta["fauxto.samples.attributes"].split(",")
    first = int(meta["fauxto.samples.first_seed"])
    w, scores = samples["w"].astype(np.float64), samples["scores"].astype(np.float64)
    seeds = first + np.arange(len(w))
    held = seeds % 10 < 3
    print("| attribute | fauxto (logistic) held-out accuracy | InterFaceGAN (linear SVM) held-out accuracy | cos(fauxto, SVM) | SVM fit s |")
    print("| --- | --- | --- | --- | --- |")
    ours = json.loads(dmeta["fauxto.directions"])["directions"]
    for d in ours:
        a = d["attribute"]
        j = attributes.index(a)
        ok = ~np.isnan(scores[:, j])
        idx = np.nonzero(ok)[0]
        order = idx[np.argsort(scores[idx, j], kind="stable")]
        k = int(len(order) * args.extremes)
        low, high = order[:k], order[-k:]
        chosen = np.concatenate([low, high])
        labels = np.concatenate([np.zeros(k, bool), np.ones(k, bool)])
        train, val = ~held[chosen], held[chosen]
        start = time.perf_counter()
        clf = svm.SVC(kernel="linear")
        clf.fit(w[chosen[train]], labels[train])
        took = time.perf_counter() - start
        acc = clf.score(w[chosen[val]], labels[val])
        normal = clf.coef_[0] / np.linalg.norm(clf.coef_[0])
        cos = float(normal @ directions[f"direction.{a}"].astype(np.float64))
        print(f"| {a} | {100 * d['validation_accuracy']:.1f}% | {100 * acc:.1f}% | {cos:.3f} | {took:.1f} |")


if __name__ == "__main__":
    main()
