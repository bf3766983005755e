#!/usr/bin/env python3
"""Write the reference values of the face-space generator metrics.

Usage:  python3 tools/face/make_metric_fixtures.py [--out DIR]

Writes into ``DIR`` (default ``crates/fauxto-face/tests/fixtures/metrics``):

* ``metrics.safetensors``:
    - ``real`` [400, 128], ``fake`` [300, 128] float32: synthetic 128-D
      "face descriptors" (see ``make_descriptors``);
    - ``small_real`` [10, 128], ``small_fake`` [8, 128] float32: a degenerate
      pair with fewer samples than dimensions (singular covariances);
    - ``real_radii`` [400], ``fake_radii`` [300] float64: the k-NN radii of the
      big pair (k = 3), and ``small_real_radii`` [10], ``small_fake_radii`` [8]
      float64 for the small pair;
    - ``__metadata__["generator"]``: this script's path.
* ``metrics.json``: versions, k, kernel, and for ``big`` and ``small`` the
  metric values (``fd``, ``fd_eigh``, ``fd_svd``, ``kid``, ``precision``, ``recall``,
  ``n_real``, ``n_fake``), floats written with ``repr`` (full precision).

All metrics are computed in float64 from the stored float32 values cast to
float64. The formulas (the Rust side implements the same):

Frechet distance (Heusel et al. 2017)::

    mu_r, mu_f = column means; S_r, S_f = covariances with ddof = 1
    (np.cov(x, rowvar=False), i.e. sum (x_i - mu)(x_i - mu)^T / (N - 1))
    FD = |mu_r - mu_f|^2 + tr(S_r) + tr(S_f) - 2 tr(sqrtm(S_r @ S_f))

  ``fd``: sqrtm = scipy.linalg.sqrtm, real part taken (as pytorch-fid does).
  ``fd_eigh``: tr(sqrtm(S_r S_f)) = sum_i sqrt(max(lambda_i, 0)) over the
  eigenvalues of the symmetric matrix A = S_r^(1/2) S_f S_r^(1/2), where
  S_r^(1/2) = V diag(sqrt(max(w, 0))) V^T from eigh(S_r) = (w, V), and A is
  symmetrised as (A + A^T) / 2 before eigvalsh. (S_r S_f is similar to A when
  S_r is invertible, and the two traces agree as well when it is singular.)
  ``fd_svd`` (a check, also stored): with the centred data X_r [m, d] and
  X_f [n, d], S_r S_f = X_r^T X_r X_f^T X_f / ((m - 1)(n - 1)) has the same
  non-zero eigenvalues as B B^T with B = X_f X_r^T / sqrt((m - 1)(n - 1)), so
  tr(sqrtm(S_r S_f)) = sum of the singular values of X_r X_f^T divided by
  sqrt((m - 1)(n - 1)) — no square root of a (near-)singular matrix, so it is
  the most accurate of the three. The other two take square roots of
  eigenvalues that are zero up to rounding (about 1e-17 -> about 3e-9 each);
  with singular covariances (the small pair) that puts them about 1e-7 away.

KID (Binkowski et al. 2018), polynomial kernel on the full sets (no subsets)::

    k(x, y) = (x . y / d + 1)^3,   d = 128
    m = n_real, n = n_fake
    MMD^2 = sum_{i != j} k(r_i, r_j) / (m (m - 1))
          + sum_{i != j} k(f_i, f_j) / (n (n - 1))
          - 2 sum_{i, j} k(r_i, f_j) / (m n)
    kid = MMD^2  (unbiased; may be negative in general)

Precision and recall with k-NN manifolds (Kynkaanniemi et al. 2019), k = 3::

    Euclidean distances |a - b| = sqrt(sum (a - b)^2).
    radius(r) = distance from r to its k-th nearest OTHER sample of the real
                set (itself excluded; k = 3 -> the 3rd nearest neighbour);
    radius(f) = the same within the fake set.
    precision = #{f : exists r with |f - r| <= radius(r)} / n_fake
    recall    = #{r : exists f with |r - f| <= radius(f)} / n_real

The script prints the three FD values and their differences, the KID summed two
ways, and the smallest |distance - radius| over all real/fake pairs (how far
every in/out decision is from the boundary).
"""

from __future__ import annotations

import argparse
import json
import math
import os

import numpy as np
import scipy
import scipy.linalg
from safetensors.numpy import save_file

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO, "crates", "fauxto-face", "tests", "fixtures", "metrics")

SEED = 20261125
DIM = 128
K = 3
N_REAL, N_FAKE = 400, 300
N_SMALL_REAL, N_SMALL_FAKE = 10, 8
N_IDS = 60          # real identities
N_SHARED = 45       # real identities the "generator" reproduces (perturbed)
N_NOVEL = 15        # identities only the generator has


def make_descriptors(rng: np.random.Generator):
    """Clustered 128-D descriptors: identity centres plus per-sample noise.

    real: mean ~ N(0, 0.05^2) per dimension; 60 identity centres =
    mean + N(0, 0.1^2); each sample = a uniformly drawn centre + N(0, 0.04^2).
    fake: the mean shifted by N(0, 0.01^2); 45 centres = the first 45 real
    centres + shift + N(0, 0.02^2) (identities reproduced imperfectly) and 15
    novel centres = shifted mean + N(0, 0.08^2) (narrower spread); each sample
    = a uniformly drawn fake centre + N(0, 0.04^2). The first 45 real
    identities are covered, the other 15 are missed (recall < 1), and the
    novel fake identities lie off the real manifold (precision < 1).
    The small pair uses the same centres: small_real = 5 samples each of real
    identities 0 and 1, small_fake = 4 samples around real centre 0 itself (a
    memorised identity) and 4 around fake centre 45 (the first novel one),
    each with noise N(0, 0.04^2).
    """
    mean = rng.normal(0.0, 0.05, DIM)
    centres = mean + rng.normal(0.0, 0.1, (N_IDS, DIM))
    labels = rng.integers(0, N_IDS, N_REAL)
    real = centres[labels] + rng.normal(0.0, 0.04, (N_REAL, DIM))

    shift = rng.normal(0.0, 0.01, DIM)
    fake_centres = np.concatenate([
        centres[:N_SHARED] + shift + rng.normal(0.0, 0.02, (N_SHARED, DIM)),
        mean + shift + rng.normal(0.0, 0.08, (N_NOVEL, DIM)),
    ])
    labels = rng.integers(0, len(fake_centres), N_FAKE)
    fake = fake_centres[labels] + rng.normal(0.0, 0.04, (N_FAKE, DIM))

    labels = np.repeat([0, 1], N_SMALL_REAL // 2)
    small_real = centres[labels] + rng.normal(0.0, 0.04, (N_SMALL_REAL, DIM))
    small_centres = np.stack([centres[0], fake_centres[N_SHARED]])
    labels = np.repeat([0, 1], N_SMALL_FAKE // 2)
    small_fake = small_centres[labels] + rng.normal(0.0, 0.04, (N_SMALL_FAKE, DIM))

    return {name: x.astype(np.float32) for name, x in
            (("real", real), ("fake", fake), ("small_real", small_real), ("small_fake", small_fake))}


def mean_cov(x: np.ndarray):
    """Column mean and covariance with ddof = 1."""
    return x.mean(axis=0), np.cov(x, rowvar=False)


def frechet_scipy(real: np.ndarray, fake: np.ndarray):
    """FD = |mu_r - mu_f|^2 + tr(S_r) + tr(S_f) - 2 tr(Re sqrtm(S_r @ S_f)).

    Returns (fd, largest |imaginary part| of sqrtm's result).
    """
    mu_r, s_r = mean_cov(real)
    mu_f, s_f = mean_cov(fake)
    covmean = scipy.linalg.sqrtm(s_r @ s_f)
    imag = float(np.abs(np.imag(covmean)).max()) if np.iscomplexobj(covmean) else 0.0
    covmean = np.real(covmean)
    diff = mu_r - mu_f
    fd = diff @ diff + np.trace(s_r) + np.trace(s_f) - 2.0 * np.trace(covmean)
    return float(fd), imag


def psd_sqrt(s: np.ndarray) -> np.ndarray:
    """S^(1/2) = V diag(sqrt(max(w, 0))) V^T with (w, V) = eigh(S)."""
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.maximum(w, 0.0))) @ v.T


def frechet_eigh(real: np.ndarray, fake: np.ndarray) -> float:
    """FD with tr(sqrtm(S_r S_f)) = sum sqrt(max(eig(S_r^½ S_f S_r^½), 0))."""
    mu_r, s_r = mean_cov(real)
    mu_f, s_f = mean_cov(fake)
    h = psd_sqrt(s_r)
    a = h @ s_f @ h
    a = 0.5 * (a + a.T)
    tr_sqrt = np.sqrt(np.maximum(np.linalg.eigvalsh(a), 0.0)).sum()
    diff = mu_r - mu_f
    return float(diff @ diff + np.trace(s_r) + np.trace(s_f) - 2.0 * tr_sqrt)


def frechet_svd(real: np.ndarray, fake: np.ndarray) -> float:
    """FD with tr(sqrtm(S_r S_f)) = nuclear norm of X_r X_f^T / sqrt((m-1)(n-1))."""
    m, n = len(real), len(fake)
    mu_r, s_r = mean_cov(real)
    mu_f, s_f = mean_cov(fake)
    cross = (real - mu_r) @ (fake - mu_f).T
    tr_sqrt = np.linalg.svd(cross, compute_uv=False).sum() / math.sqrt((m - 1) * (n - 1))
    diff = mu_r - mu_f
    return float(diff @ diff + np.trace(s_r) + np.trace(s_f) - 2.0 * tr_sqrt)


def poly_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x . y / d + 1)^3 for all pairs of rows, d = number of columns."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def kid(real: np.ndarray, fake: np.ndarray):
    """Unbiased MMD^2 with the cubic polynomial kernel over the full sets.

    Returns (kid with numpy sums, kid with math.fsum sums) — the second is the
    correctly rounded sum of each block, a check on the summation error.
    """
    m, n = len(real), len(fake)
    k_rr = poly_kernel(real, real)
    k_ff = poly_kernel(fake, fake)
    k_rf = poly_kernel(real, fake)
    off_rr = k_rr.sum() - np.trace(k_rr)
    off_ff = k_ff.sum() - np.trace(k_ff)
    value = off_rr / (m * (m - 1)) + off_ff / (n * (n - 1)) - 2.0 * k_rf.sum() / (m * n)

    def fsum_off(kk):
        mask = ~np.eye(len(kk), dtype=bool)
        return math.fsum(kk[mask].tolist())

    check = (fsum_off(k_rr) / (m * (m - 1)) + fsum_off(k_ff) / (n * (n - 1))
             - 2.0 * math.fsum(k_rf.ravel().tolist()) / (m * n))
    return float(value), float(check)


def pairwise_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a_i - b_j| from explicit differences (no |a|^2 + |b|^2 - 2ab expansion)."""
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1))


def knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each row to its k-th nearest other row (itself excluded)."""
    d = pairwise_dist(x, x)
    np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, k - 1]


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int):
    """precision = share of fakes inside some real k-NN ball, recall = reverse.

    Returns (precision, recall, real_radii, fake_radii, smallest |d - radius|).
    """
    r_real = knn_radii(real, k)
    r_fake = knn_radii(fake, k)
    d = pairwise_dist(real, fake)  # [n_real, n_fake]
    precision = float((d <= r_real[:, None]).any(axis=0).mean())
    recall = float((d <= r_fake[None, :]).any(axis=1).mean())
    margin = float(min(np.abs(d - r_real[:, None]).min(), np.abs(d - r_fake[None, :]).min()))
    return precision, recall, r_real, r_fake, margin


def metrics(name: str, real32: np.ndarray, fake32: np.ndarray):
    real = real32.astype(np.float64)
    fake = fake32.astype(np.float64)
    fd, imag = frechet_scipy(real, fake)
    fd_e = frechet_eigh(real, fake)
    fd_s = frechet_svd(real, fake)
    kid_v, kid_check = kid(real, fake)
    prec, rec, r_real, r_fake, margin = precision_recall(real, fake, K)
    print(f"[{name}] n_real={len(real)} n_fake={len(fake)}")
    print(f"  fd (scipy sqrtm) = {fd!r}   (max |imag| of sqrtm = {imag:.3e})")
    print(f"  fd (eigh)        = {fd_e!r}   difference = {fd - fd_e:.3e}")
    print(f"  fd (svd)         = {fd_s!r}   scipy - svd = {fd - fd_s:.3e}, eigh - svd = {fd_e - fd_s:.3e}")
    print(f"  kid              = {kid_v!r}   (fsum: {kid_check!r}, difference {kid_v - kid_check:.3e})")
    print(f"  precision = {prec!r}  recall = {rec!r}  (k = {K}; "
          f"smallest |distance - radius| = {margin:.3e})")
    values = {
        "fd": fd, "fd_eigh": fd_e, "fd_svd": fd_s, "kid": kid_v, "precision": prec, "recall": rec,
        "n_real": len(real), "n_fake": len(fake),
    }
    return values, r_real, r_fake


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    args = ap.parse_args()

    rng = np.random.default_rng(SEED)
    data = make_descriptors(rng)

    big, real_radii, fake_radii = metrics("big", data["real"], data["fake"])
    small, s_real_radii, s_fake_radii = metrics("small", data["small_real"], data["small_fake"])

    os.makedirs(args.out, exist_ok=True)
    tensors = dict(data)
    tensors["real_radii"] = real_radii.astype(np.float64)
    tensors["fake_radii"] = fake_radii.astype(np.float64)
    tensors["small_real_radii"] = s_real_radii.astype(np.float64)
    tensors["small_fake_radii"] = s_fake_radii.astype(np.float64)
    st_path = os.path.join(args.out, "metrics.safetensors")
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, st_path,
              metadata={"generator": "tools/face/make_metric_fixtures.py"})

    doc = {
        "generator": "tools/face/make_metric_fixtures.py",
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__},
        "k": K,
        "kernel": "(x.y/d + 1)^3",
        "big": big,
        "small": small,
    }
    json_path = os.path.join(args.out, "metrics.json")
    with open(json_path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")

    for path in (st_path, json_path):
        print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
