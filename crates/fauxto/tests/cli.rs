//! End-to-end tests of the `fauxto` binary: the commands work, and bad input gives a clear
//! one-line error, a non-zero exit code, no panic and no partial output.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

mod common;
use common::fauxto;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    common::scratch("cli", name)
}

/// A small random model shared by the tests (16x16 keeps them fast).
fn model() -> &'static Path {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL.get_or_init(|| {
        let path = scratch("model").join("tiny.safetensors");
        let out = fauxto(&[
            "init-model",
            "--preset",
            "small",
            "--res",
            "16",
            "--seed",
            "7",
            "--out",
            path.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        path
    })
}

/// A failure that explains itself: exit code `code`, no panic, one line mentioning `needle`.
fn assert_clear_error(out: &Output, code: i32, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    if code == 1 {
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn generate_writes_decodable_images_in_every_format() {
    let out_dir = scratch("formats");
    for format in ["png", "jpg", "webp"] {
        let out = fauxto(&[
            "generate",
            "--model",
            model().to_str().unwrap(),
            "--seeds",
            "1,2",
            "--format",
            format,
            "--grid",
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        for name in ["seed0001", "seed0002"] {
            let img = image::open(out_dir.join(format!("{name}.{format}"))).unwrap();
            assert_eq!((img.width(), img.height()), (16, 16));
        }
        let grid = image::open(out_dir.join(format!("grid.{format}"))).unwrap();
        assert_eq!((grid.width(), grid.height()), (32, 16));
    }
}

#[test]
fn same_seed_same_image_other_seed_other_image() {
    let dir = scratch("determinism");
    let run = |sub: &str, seeds: &str| {
        let d = dir.join(sub);
        let out = fauxto(&[
            "generate",
            "--model",
            model().to_str().unwrap(),
            "--seeds",
            seeds,
            "--out",
            d.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        d
    };
    let (a, b) = (run("a", "5"), run("b", "5,6"));
    let read = |p: PathBuf| image::open(p).unwrap().to_rgb8().into_raw();
    assert_eq!(read(a.join("seed0005.png")), read(b.join("seed0005.png")));
    assert_ne!(read(b.join("seed0005.png")), read(b.join("seed0006.png")));
}

#[test]
fn truncation_zero_gives_the_average_image_for_every_seed() {
    let dir = scratch("trunc");
    let out = fauxto(&[
        "generate",
        "--model",
        model().to_str().unwrap(),
        "--seeds",
        "3,4",
        "--trunc",
        "0",
        "--out",
        dir.to_str().unwrap(),
        // The watermark carries the seed; the network's output is what is compared here.
        "--no-watermark",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let read = |n: &str| image::open(dir.join(n)).unwrap().to_rgb8().into_raw();
    assert_eq!(read("seed0003.png"), read("seed0004.png"));
}

#[test]
fn mix_and_interpolate_make_grids_and_animations() {
    let dir = scratch("mix");
    let grid = dir.join("mix.png");
    let out = fauxto(&[
        "mix",
        "--model",
        model().to_str().unwrap(),
        "--rows",
        "1,2",
        "--cols",
        "3-5",
        "--styles",
        "0-1",
        "--out",
        grid.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let img = image::open(&grid).unwrap();
    assert_eq!((img.width(), img.height()), (4 * 16, 3 * 16));

    let gif = dir.join("walk.gif");
    let out = fauxto(&[
        "interpolate",
        "--model",
        model().to_str().unwrap(),
        "--seeds",
        "1,2",
        "--frames",
        "3",
        "--out",
        gif.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let decoder = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(
        std::fs::File::open(&gif).unwrap(),
    ))
    .unwrap();
    use image::AnimationDecoder;
    assert_eq!(decoder.into_frames().count(), 4);
}

#[test]
fn info_reports_the_configuration_as_json() {
    let out = fauxto(&["info", model().to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["num_ws"], 6);
    assert_eq!(v["model"]["generator"]["img_resolution"], 16);
    assert_eq!(v["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn missing_truncated_and_foreign_model_files_are_clear_errors() {
    let dir = scratch("bad-models");
    let out_dir = dir.join("out");
    let gen = |model: &Path| {
        fauxto(&[
            "generate",
            "--model",
            model.to_str().unwrap(),
            "--seeds",
            "0",
            "--out",
            out_dir.to_str().unwrap(),
        ])
    };
    assert_clear_error(&gen(&dir.join("nope.safetensors")), 1, "nope.safetensors");

    let bytes = std::fs::read(model()).unwrap();
    let truncated = dir.join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    assert_clear_error(&gen(&truncated), 1, "truncated");

    let header_cut = dir.join("header.safetensors");
    std::fs::write(&header_cut, &bytes[..20]).unwrap();
    assert_clear_error(&gen(&header_cut), 1, "not a valid safetensors file");

    let foreign = dir.join("photo.safetensors");
    std::fs::write(&foreign, b"\x89PNG\r\n\x1a\n not a model at all").unwrap();
    assert_clear_error(&gen(&foreign), 1, "not a valid safetensors file");

    let other = dir.join("other.safetensors");
    let data = [0u8; 16];
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![4], &data).unwrap();
    std::fs::write(&other, safetensors::serialize([("w", view)], None).unwrap()).unwrap();
    assert_clear_error(&gen(&other), 1, "not a fauxto model");

    assert!(!out_dir.exists() || std::fs::read_dir(&out_dir).unwrap().next().is_none());
}

#[test]
fn malformed_arguments_are_clear_errors() {
    let m = model().to_str().unwrap();
    assert_clear_error(
        &fauxto(&["generate", "--model", m, "--seeds", "1-x"]),
        2,
        "not a seed",
    );
    assert_clear_error(
        &fauxto(&["generate", "--model", m, "--seeds", "9-3"]),
        2,
        "backwards",
    );
    assert_clear_error(
        &fauxto(&["generate", "--model", m, "--trunc", "nan"]),
        2,
        "not a number",
    );
    assert_clear_error(
        &fauxto(&[
            "generate",
            "--model",
            m,
            "--class",
            "1",
            "--out",
            "/tmp/unused-fauxto",
        ]),
        1,
        "unconditional",
    );
    let dir = scratch("bad-res");
    let out = fauxto(&[
        "init-model",
        "--res",
        "48",
        "--out",
        dir.join("m.safetensors").to_str().unwrap(),
    ]);
    assert_clear_error(&out, 1, "power of two");
    assert!(!dir.join("m.safetensors").exists());
    assert_clear_error(
        &fauxto(&[
            "init-model",
            "--preset",
            "huge",
            "--out",
            dir.join("h.safetensors").to_str().unwrap(),
        ]),
        1,
        "unknown preset",
    );
}

#[test]
fn unwritable_output_is_a_clear_error() {
    let dir = scratch("unwritable");
    let file = dir.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let out = fauxto(&[
        "generate",
        "--model",
        model().to_str().unwrap(),
        "--seeds",
        "0",
        "--out",
        file.join("sub").to_str().unwrap(),
    ]);
    assert_clear_error(&out, 1, "cannot create output directory");
}

#[test]
fn init_model_takes_custom_widths() {
    let dir = scratch("custom");
    let path = dir.join("custom.safetensors");
    let out = fauxto(&[
        "init-model",
        "--preset",
        "small",
        "--res",
        "8",
        "--channel-base",
        "256",
        "--channel-max",
        "16",
        "--map-layers",
        "3",
        "--c-dim",
        "2",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = fauxto(&["info", path.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let g = &v["model"]["generator"];
    assert_eq!(g["mapping"]["num_layers"], 3);
    assert_eq!(g["synthesis"]["channel_max"], 16);
    assert_eq!(g["c_dim"], 2);
    assert!(
        dir.join("custom.md").exists(),
        "model card beside the model"
    );
    let gen = fauxto(&[
        "generate",
        "--model",
        path.to_str().unwrap(),
        "--seeds",
        "0",
        "--class",
        "1",
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    assert!(gen.status.success(), "{}", stderr(&gen));
    let res4 = fauxto(&[
        "init-model",
        "--res",
        "4",
        "--out",
        dir.join("r4.safetensors").to_str().unwrap(),
    ]);
    assert_clear_error(&res4, 1, "at least 8");
}

#[test]
fn model_defaults_to_fauxto_model_then_the_bundled_demo() {
    let out_dir = scratch("default-model");
    let run = |env: Option<&Path>| {
        let mut cmd = common::command(&[
            "generate",
            "--seeds",
            "3",
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        match env {
            Some(p) => cmd.env("FAUXTO_MODEL", p),
            None => cmd.env_remove("FAUXTO_MODEL"),
        };
        cmd.output().expect("fauxto runs")
    };
    let out = run(Some(model()));
    assert!(out.status.success(), "{}", stderr(&out));
    let img = image::open(out_dir.join("seed0003.png")).unwrap();
    assert_eq!(img.width(), 16, "FAUXTO_MODEL's 16x16 model was used");
    let missing = out_dir.join("nope.safetensors");
    assert_clear_error(&run(Some(&missing)), 1, "nope.safetensors");
    // Without either, the bundled demo model (64x64 faces) when the checkout has it.
    let demo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/fauxto-demo-utkface64.safetensors");
    let out = run(None);
    if demo.exists() {
        assert!(out.status.success(), "{}", stderr(&out));
        let img = image::open(out_dir.join("seed0003.png")).unwrap();
        assert_eq!(img.width(), 64, "the demo model makes 64x64 faces");
    } else {
        assert_clear_error(&out, 1, "demo model");
    }
}
