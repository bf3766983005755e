//! Face-space metrics against the numpy/scipy reference values of
//! `tools/face/make_metric_fixtures.py`, plus the identities the formulas imply.

use std::path::PathBuf;

use fauxto_face::metrics::{
    frechet_distance, kernel_distance, kernel_distance_subsets, knn_radii, precision_recall,
    Descriptors, FaceSpaceMetrics, MetricsError, PrecisionRecall,
};

const DIM: usize = 128;

struct Fixture {
    tensors: Vec<u8>,
    values: serde_json::Value,
}

impl Fixture {
    fn load() -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/metrics");
        let tensors = std::fs::read(dir.join("metrics.safetensors")).expect("fixture present");
        let json = std::fs::read(dir.join("metrics.json")).expect("fixture present");
        Self {
            tensors,
            values: serde_json::from_slice(&json).unwrap(),
        }
    }

    fn bytes(&self, name: &str, dtype: safetensors::Dtype) -> Vec<u8> {
        let tensors = safetensors::SafeTensors::deserialize(&self.tensors).unwrap();
        let tensor = tensors
            .tensor(name)
            .unwrap_or_else(|_| panic!("fixture lacks {name}"));
        assert_eq!(tensor.dtype(), dtype, "{name}");
        tensor.data().to_vec()
    }

    /// A `[N, 128]` float32 tensor, row after row.
    fn descriptors(&self, name: &str) -> Vec<f32> {
        let bytes = self.bytes(name, safetensors::Dtype::F32);
        let values: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(values.len() % DIM, 0, "{name}");
        values
    }

    fn radii(&self, name: &str) -> Vec<f64> {
        let bytes = self.bytes(name, safetensors::Dtype::F64);
        bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect()
    }

    fn value(&self, pair: &str, name: &str) -> f64 {
        self.values[pair][name]
            .as_f64()
            .unwrap_or_else(|| panic!("no {pair}.{name}"))
    }
}

fn view(values: &[f32]) -> Descriptors<'_> {
    Descriptors::new(values, DIM).unwrap()
}

fn relative_error(got: f64, want: f64) -> f64 {
    (got - want).abs() / want.abs()
}

/// Rounds to multiples of 2⁻¹², so that adding multiples of 2⁻⁶ is exact in f32.
fn on_dyadic_grid(values: &[f32]) -> Vec<f32> {
    values
        .iter()
        .map(|v| (v * 4096.0).round() / 4096.0)
        .collect()
}

fn check_pair(pair: &str, real_name: &str, fake_name: &str) {
    let fixture = Fixture::load();
    let (real, fake) = (
        fixture.descriptors(real_name),
        fixture.descriptors(fake_name),
    );
    let (real, fake) = (view(&real), view(&fake));
    let k = fixture.values["k"].as_u64().unwrap() as usize;
    assert_eq!(real.len() as f64, fixture.value(pair, "n_real"));
    assert_eq!(fake.len() as f64, fixture.value(pair, "n_fake"));

    let fd = frechet_distance(real, fake).unwrap();
    let fd_svd = fixture.value(pair, "fd_svd");
    eprintln!(
        "[{pair}] fd = {fd:?}: relative error vs fd_svd {:.3e}, vs fd_eigh {:.3e}, vs fd (scipy) {:.3e}",
        relative_error(fd, fd_svd),
        relative_error(fd, fixture.value(pair, "fd_eigh")),
        relative_error(fd, fixture.value(pair, "fd")),
    );
    // Rounding-level eigenvalues count as 0, so even the singular pair agrees with the SVD form
    // to far better than 1e-6 (numpy's eigh and scipy's sqrtm values lie about 2e-7 away there).
    assert!(
        relative_error(fd, fd_svd) < 1e-11,
        "[{pair}] fd {fd} vs {fd_svd}"
    );

    let kid = kernel_distance(real, fake).unwrap();
    let kid_want = fixture.value(pair, "kid");
    eprintln!(
        "[{pair}] kid = {kid:?}: relative error {:.3e}",
        relative_error(kid, kid_want)
    );
    assert!(
        relative_error(kid, kid_want) < 1e-9,
        "[{pair}] kid {kid} vs {kid_want}"
    );

    let pr = precision_recall(real, fake, k).unwrap();
    eprintln!(
        "[{pair}] precision = {}, recall = {}",
        pr.precision, pr.recall
    );
    let want = PrecisionRecall {
        precision: fixture.value(pair, "precision"),
        recall: fixture.value(pair, "recall"),
    };
    assert_eq!(pr, want, "[{pair}]");

    for (set, name) in [
        (real, format!("{real_name}_radii")),
        (fake, format!("{fake_name}_radii")),
    ] {
        let got = knn_radii(set, k).unwrap();
        let want = fixture.radii(&name);
        assert_eq!(got.len(), want.len());
        let error = got
            .iter()
            .zip(&want)
            .map(|(g, w)| (g - w).abs())
            .fold(0.0, f64::max);
        eprintln!("[{pair}] {name}: largest absolute error {error:.3e}");
        assert!(error < 1e-9, "[{pair}] {name}: {error}");
    }
}

#[test]
fn big_pair_matches_reference() {
    check_pair("big", "real", "fake");
}

#[test]
fn small_singular_pair_matches_reference() {
    check_pair("small", "small_real", "small_fake");
}

#[test]
fn summary_matches_the_single_metrics() {
    let fixture = Fixture::load();
    let (real, fake) = (fixture.descriptors("real"), fixture.descriptors("fake"));
    let (real, fake) = (view(&real), view(&fake));
    let metrics = FaceSpaceMetrics::compute(real, fake).unwrap();
    // Both sets are smaller than one KID subset, so KID is the full-set value.
    assert_eq!(metrics.kernel, kernel_distance(real, fake).unwrap());
    assert_eq!(metrics.kernel_std, 0.0);
    assert_eq!(metrics.frechet, frechet_distance(real, fake).unwrap());
    let pr = precision_recall(real, fake, 3).unwrap();
    assert_eq!(
        (metrics.precision, metrics.recall),
        (pr.precision, pr.recall)
    );
    assert_eq!((metrics.n_real, metrics.n_fake), (400, 300));
    let json = serde_json::to_string(&metrics).unwrap();
    assert_eq!(
        serde_json::from_str::<FaceSpaceMetrics>(&json).unwrap(),
        metrics
    );
}

#[test]
fn kid_subsets_are_seeded_and_unbiased() {
    let fixture = Fixture::load();
    let (real, fake) = (fixture.descriptors("real"), fixture.descriptors("fake"));
    let (real, fake) = (view(&real), view(&fake));
    let full = kernel_distance(real, fake).unwrap();
    assert_eq!(
        kernel_distance_subsets(real, fake, 400, 5, 1).unwrap(),
        (full, 0.0)
    );

    let (mean, std) = kernel_distance_subsets(real, fake, 100, 200, 7).unwrap();
    eprintln!("kid over 200 subsets of 100: {mean:.6e} ± {std:.3e} (full sets {full:.6e})");
    assert_eq!(
        kernel_distance_subsets(real, fake, 100, 200, 7).unwrap(),
        (mean, std)
    );
    assert_ne!(
        kernel_distance_subsets(real, fake, 100, 200, 8).unwrap(),
        (mean, std)
    );
    assert!(std > 0.0);
    // Each subset value is unbiased: the mean of 200 lies within a few standard errors.
    assert!(
        (mean - full).abs() < 4.0 * std / 200f64.sqrt(),
        "{mean} vs {full} (std {std})"
    );
}

/// KID of a set against itself from a direct double loop: with `a` the mean of `k(x_i, x_i)` and
/// `b` the mean of `k(x_i, x_j)` over `i ≠ j`, the unbiased MMD² is `−2(a − b)/m`, which is `≤ 0`
/// for a positive semi-definite kernel (`k(x, y) = (x·y/d + 1)³`).
fn self_kid(set: Descriptors) -> f64 {
    let kernel = |x: &[f32], y: &[f32]| {
        let dot: f64 = x
            .iter()
            .zip(y)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum();
        (dot / x.len() as f64 + 1.0).powi(3)
    };
    let m = set.len() as f64;
    let (mut diagonal, mut off_diagonal) = (0.0, 0.0);
    for (i, x) in set.rows().enumerate() {
        for (j, y) in set.rows().enumerate() {
            if i == j {
                diagonal += kernel(x, y);
            } else {
                off_diagonal += kernel(x, y);
            }
        }
    }
    -2.0 * (diagonal / m - off_diagonal / (m * (m - 1.0))) / m
}

#[test]
fn identical_sets() {
    let fixture = Fixture::load();
    for name in ["real", "small_real"] {
        let set = fixture.descriptors(name);
        let set = view(&set);
        let fd = frechet_distance(set, set).unwrap();
        let kid = kernel_distance(set, set).unwrap();
        let kid_want = self_kid(set);
        eprintln!(
            "[{name} vs itself] fd = {fd:.3e}, kid = {kid:.6e} (closed form {kid_want:.6e}, relative error {:.3e})",
            relative_error(kid, kid_want)
        );
        assert!(fd.abs() < 1e-12, "{name}: fd {fd}");
        // Unbiased KID of a set against itself is slightly negative, of order 1/m.
        assert!(
            kid <= 0.0 && kid > -5.0 / set.len() as f64,
            "{name}: kid {kid}"
        );
        assert!(
            relative_error(kid, kid_want) < 1e-9,
            "{name}: kid {kid} vs {kid_want}"
        );
        let pr = precision_recall(set, set, 3).unwrap();
        assert_eq!(
            pr,
            PrecisionRecall {
                precision: 1.0,
                recall: 1.0
            }
        );
    }
}

#[test]
fn shifting_the_fakes_adds_the_shift_to_the_mean_term() {
    let fixture = Fixture::load();
    let real = on_dyadic_grid(&fixture.descriptors("real"));
    let fake = on_dyadic_grid(&fixture.descriptors("fake"));
    let shift: Vec<f32> = (0..DIM).map(|i| ((i % 7) as f32 - 3.0) / 64.0).collect();
    let shifted: Vec<f32> = fake
        .iter()
        .zip(shift.iter().cycle())
        .map(|(v, s)| v + s)
        .collect();
    let shift_norm2: f64 = shift.iter().map(|&s| f64::from(s).powi(2)).sum();

    // FD(x, x + c) = |c|²: same covariance, means c apart.
    let fd_self = frechet_distance(view(&fake), view(&fake)).unwrap();
    let fd_shifted = frechet_distance(view(&fake), view(&shifted)).unwrap();
    eprintln!(
        "FD(x, x + c) − |c|² = {:.3e} (|c|² = {shift_norm2})",
        fd_shifted - shift_norm2
    );
    assert!((fd_shifted - fd_self - shift_norm2).abs() < 1e-12);

    // In general the mean term |mu_r − mu_f − c|² grows by |c|² − 2 c·(mu_r − mu_f).
    let mean = |x: &[f32]| -> Vec<f64> {
        let rows = x.len() / DIM;
        (0..DIM)
            .map(|j| (0..rows).map(|i| f64::from(x[i * DIM + j])).sum::<f64>() / rows as f64)
            .collect()
    };
    let (mean_real, mean_fake) = (mean(&real), mean(&fake));
    let cross: f64 = (0..DIM)
        .map(|j| f64::from(shift[j]) * (mean_real[j] - mean_fake[j]))
        .sum();
    let before = frechet_distance(view(&real), view(&fake)).unwrap();
    let after = frechet_distance(view(&real), view(&shifted)).unwrap();
    let want = shift_norm2 - 2.0 * cross;
    eprintln!(
        "FD(r, f + c) − FD(r, f) − (|c|² − 2c·(mu_r − mu_f)) = {:.3e}",
        after - before - want
    );
    assert!((after - before - want).abs() < 1e-12);
}

#[test]
fn fixed_size_rows_view_the_same_data() {
    let fixture = Fixture::load();
    let flat = fixture.descriptors("small_real");
    let rows: Vec<[f32; DIM]> = flat
        .chunks_exact(DIM)
        .map(|r| r.try_into().unwrap())
        .collect();
    let from_rows = Descriptors::from_rows(&rows);
    assert_eq!((from_rows.len(), from_rows.dim()), (10, DIM));
    assert!(from_rows.rows().eq(view(&flat).rows()));
    let fake = fixture.descriptors("small_fake");
    assert_eq!(
        kernel_distance(from_rows, view(&fake)).unwrap(),
        kernel_distance(view(&flat), view(&fake)).unwrap()
    );
}

#[test]
fn invalid_inputs_are_errors() {
    let fixture = Fixture::load();
    let real = fixture.descriptors("small_real");
    let (real, one) = (view(&real), view(&real[..DIM]));
    assert_eq!(
        Descriptors::new(&[0.0; 5], 2).unwrap_err(),
        MetricsError::Shape { values: 5, dim: 2 }
    );
    assert!(Descriptors::new(&[], 0).is_err());

    let too_few = MetricsError::TooFewSamples {
        set: "fake",
        samples: 1,
        needed: 2,
    };
    assert_eq!(frechet_distance(real, one).unwrap_err(), too_few);
    assert_eq!(kernel_distance(real, one).unwrap_err(), too_few);
    assert_eq!(
        kernel_distance_subsets(real, one, 100, 10, 0).unwrap_err(),
        too_few
    );
    assert!(matches!(
        frechet_distance(one, real),
        Err(MetricsError::TooFewSamples { set: "real", .. })
    ));
    assert!(matches!(
        kernel_distance_subsets(real, real, 1, 10, 0),
        Err(MetricsError::SubsetParameters { .. })
    ));
    assert!(matches!(
        FaceSpaceMetrics::compute(
            real,
            view(&real.rows().take(3).flatten().copied().collect::<Vec<_>>())
        ),
        Err(MetricsError::TooFewSamples {
            set: "fake",
            samples: 3,
            needed: 4
        })
    ));

    let other_dim = [0.0f32; 20];
    let other_dim = Descriptors::new(&other_dim, 10).unwrap();
    let mismatch = MetricsError::DimensionMismatch {
        real: DIM,
        fake: 10,
    };
    assert_eq!(frechet_distance(real, other_dim).unwrap_err(), mismatch);
    assert_eq!(kernel_distance(real, other_dim).unwrap_err(), mismatch);
    assert_eq!(precision_recall(real, other_dim, 1).unwrap_err(), mismatch);

    for k in [0, 10, 11] {
        assert_eq!(
            precision_recall(real, real, k).unwrap_err(),
            MetricsError::NeighbourCount {
                set: "real",
                k,
                samples: 10
            }
        );
    }
    let fake = fixture.descriptors("small_fake");
    assert_eq!(
        precision_recall(real, view(&fake), 8).unwrap_err(),
        MetricsError::NeighbourCount {
            set: "fake",
            k: 8,
            samples: 8
        }
    );
    assert!(precision_recall(real, view(&fake), 7).is_ok());
    assert!(knn_radii(real, 10).is_err());

    let mut with_nan = fixture.descriptors("small_fake");
    with_nan[3 * DIM + 5] = f32::NAN;
    assert_eq!(
        frechet_distance(real, view(&with_nan)).unwrap_err(),
        MetricsError::NonFinite {
            set: "fake",
            row: 3
        }
    );
}

#[test]
fn balanced_summary_thins_the_reals_for_precision_and_recall_only() {
    let fixture = Fixture::load();
    let (real, fake) = (fixture.descriptors("real"), fixture.descriptors("fake"));
    let (real, fake) = (view(&real), view(&fake));
    let full = FaceSpaceMetrics::compute(real, fake).unwrap();
    let balanced = FaceSpaceMetrics::compute_balanced(real, fake).unwrap();
    assert_eq!(balanced.frechet, full.frechet);
    assert_eq!(
        (balanced.kernel, balanced.kernel_std),
        (full.kernel, full.kernel_std)
    );
    assert_eq!((balanced.n_real, balanced.n_fake), (400, 300));
    // 300 of the 400 reals, evenly spaced.
    let thinned: Vec<f32> = (0..300)
        .flat_map(|i| real.row(i * 400 / 300).iter().copied())
        .collect();
    let pr = precision_recall(view(&thinned), fake, 3).unwrap();
    assert_eq!(
        (balanced.precision, balanced.recall),
        (pr.precision, pr.recall)
    );
    assert_ne!(
        (balanced.precision, balanced.recall),
        (full.precision, full.recall)
    );
    // With no more reals than fakes there is nothing to thin.
    assert_eq!(
        FaceSpaceMetrics::compute_balanced(fake, real).unwrap(),
        FaceSpaceMetrics::compute(fake, real).unwrap()
    );
}
