//! A tiny network trains on the committed UTKFace sample: losses stay finite, both
//! regularisers run on their schedule, and a run saved and resumed from its checkpoint is
//! bit for bit the run that never stopped.

use std::path::PathBuf;
use std::sync::Arc;

use burn::backend::{Autodiff, Flex};
use fauxto_data::{build_dataset, Crop, DatasetOptions, Filter, PackedDataset};
use fauxto_nn::model_file::parse_safetensors;
use fauxto_train::checkpoint::stored_options;
use fauxto_train::{AugmentMode, TrainOptions, Trainer};

type AB = Autodiff<Flex>;

fn utkface_zip() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/utkface-sample.zip")
}

/// 32 faces at 16x16, built once per test binary run in a fresh temporary directory.
fn tiny_dataset(dir: &std::path::Path) -> Arc<PackedDataset> {
    let out = dir.join("data16");
    let opts = DatasetOptions {
        source: utkface_zip(),
        out: out.clone(),
        resolution: 16,
        labels: Some("labels.csv".into()),
        crop: Crop::Center,
        filter: Filter::Box,
        max_images: Some(32),
        license: "UTKFace: non-commercial research use only".into(),
        force: false,
        threads: 2,
    };
    let report = build_dataset(&opts, &|_| {}).expect("dataset builds");
    assert_eq!(report.images, 32);
    Arc::new(PackedDataset::open(&out).expect("dataset opens"))
}

fn tiny_options() -> TrainOptions {
    let mut o = TrainOptions::with_batch(16, 4);
    o.channel_base = Some(128);
    o.channel_max = Some(32);
    o.mirror = true;
    o.seed = 5;
    // Augment half the images, so the resume test also covers the augmentation draws.
    o.augment = AugmentMode::Fixed { p: 0.5 };
    o
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fauxto-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn losses_are_finite_and_regularisers_run_on_schedule() {
    let dir = temp_dir("loop");
    let data = tiny_dataset(&dir);
    let mut t = Trainer::<AB>::new(tiny_options(), data, &Default::default()).unwrap();
    let before = t.checkpoint_bytes().unwrap();
    for step in 0..5u64 {
        let s = t.step().unwrap();
        assert!(
            s.loss_g.is_finite() && s.loss_d.is_finite(),
            "step {step}: {s:?}"
        );
        assert_eq!(
            s.pl_penalty.is_some(),
            step % 4 == 0,
            "path length at step {step}"
        );
        assert_eq!(s.r1_penalty.is_some(), step % 16 == 0, "R1 at step {step}");
        if let Some(r1) = s.r1_penalty {
            assert!(r1.is_finite() && r1 > 0.0, "R1 penalty {r1}");
        }
        if let Some(pl) = s.pl_penalty {
            assert!(pl.is_finite() && pl > 0.0, "path-length penalty {pl}");
        }
    }
    assert_eq!(t.state.cur_nimg, 20);
    assert_eq!(
        t.state.g_opt_steps,
        5 + 2,
        "G: 5 main steps and 2 path-length steps"
    );
    assert_eq!(t.state.d_opt_steps, 5 + 1, "D: 5 main steps and 1 R1 step");
    assert!(t.state.pl_mean > 0.0);
    assert_ne!(
        before,
        t.checkpoint_bytes().unwrap(),
        "training changed the networks"
    );
    let grid = t.samples(&[0, 1, 2]);
    assert_eq!((grid.count, grid.height), (3, 16));
    let model = t.export("tiny", "CC0-1.0");
    let td = model.info.training_data.as_ref().unwrap();
    assert_eq!(td.images, 32);
    assert_eq!(td.license, "UTKFace: non-commercial research use only");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn resumed_run_is_bit_identical() {
    let dir = temp_dir("resume");
    let data = tiny_dataset(&dir);
    let device = Default::default();
    let mut straight = Trainer::<AB>::new(tiny_options(), data.clone(), &device).unwrap();
    for _ in 0..6 {
        straight.step().unwrap();
    }
    let mut first = Trainer::<AB>::new(tiny_options(), data.clone(), &device).unwrap();
    for _ in 0..3 {
        first.step().unwrap();
    }
    let path = dir.join("checkpoint.safetensors");
    first.save_checkpoint(&path).unwrap();
    drop(first);
    // The options alone, from the header, are the ones the resumed run trains with.
    let stored = stored_options(&path).unwrap();
    let mut resumed = Trainer::<AB>::resume(&path, data, &device).unwrap();
    assert_eq!(stored, resumed.opts);
    assert_eq!(stored, tiny_options());
    let err = stored_options(&dir.join("missing.safetensors")).unwrap_err();
    assert!(err.to_string().contains("missing.safetensors"), "{err}");
    std::fs::write(dir.join("short"), [0xff; 12]).unwrap();
    assert!(stored_options(&dir.join("short")).is_err());
    assert_eq!(resumed.state.step, 3);
    for _ in 0..3 {
        resumed.step().unwrap();
    }
    assert_eq!(resumed.state, straight.state);
    let (a, meta_a) = parse_safetensors(&resumed.checkpoint_bytes().unwrap()).unwrap();
    let (b, meta_b) = parse_safetensors(&straight.checkpoint_bytes().unwrap()).unwrap();
    assert_eq!(meta_a, meta_b);
    let differing: Vec<_> = b
        .tensors
        .iter()
        .filter(|(k, t)| {
            a.tensors.get(*k).map(|u| {
                u.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                    != t.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            }) != Some(false)
        })
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(a.tensors.len(), b.tensors.len());
    assert!(
        differing.is_empty(),
        "after resuming, {} of {} tensors differ: {:?}",
        differing.len(),
        b.tensors.len(),
        &differing[..differing.len().min(8)]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn resume_refuses_another_dataset() {
    let dir = temp_dir("other");
    let data = tiny_dataset(&dir);
    let t = Trainer::<AB>::new(tiny_options(), data, &Default::default()).unwrap();
    let path = dir.join("checkpoint.safetensors");
    t.save_checkpoint(&path).unwrap();
    let mut opts = DatasetOptions {
        source: utkface_zip(),
        out: dir.join("other16"),
        resolution: 16,
        labels: None,
        crop: Crop::Center,
        filter: Filter::Box,
        max_images: Some(8),
        license: "x".into(),
        force: false,
        threads: 1,
    };
    build_dataset(&opts, &|_| {}).unwrap();
    opts.out = dir.join("other16");
    let other = Arc::new(PackedDataset::open(&opts.out).unwrap());
    let err = match Trainer::<AB>::resume(&path, other, &Default::default()) {
        Ok(_) => panic!("resumed on another dataset"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("another dataset"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ada_raises_p_while_d_is_confident_on_reals() {
    let dir = temp_dir("ada");
    let data = tiny_dataset(&dir);
    let mut opts = tiny_options();
    // A target D cannot stay below: every adjustment must raise p.
    opts.augment = AugmentMode::Ada { target: -1.0 };
    let mut t = Trainer::<AB>::new(opts, data, &Default::default()).unwrap();
    assert_eq!(t.state.ada_p, 0.0);
    for _ in 0..8 {
        t.step().unwrap();
    }
    let step = 4.0 * 4.0 / 500_000.0;
    assert!(
        (t.state.ada_p - 2.0 * step).abs() < 1e-12,
        "p = {}",
        t.state.ada_p
    );
    let _ = std::fs::remove_dir_all(&dir);
}
