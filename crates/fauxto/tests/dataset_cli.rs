//! `fauxto dataset` end to end: a zip of real UTKFace faces mixed with broken, hostile and
//! duplicate entries; a folder of grayscale, RGBA, 16-bit and non-square images; and bad
//! input, which must give a clear one-line error and leave nothing behind.

use std::collections::HashMap;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, Rgb, RgbImage, Rgba};
use serde_json::Value;
use sha2::{Digest, Sha256};

mod common;
use common::{ok, scratch, utkface};

const RES: usize = 32;
/// Real faces in the test zip; one of them has no label row.
const FACES: usize = 40;

fn fauxto_in(dir: &Path, args: &[&str]) -> Output {
    common::command(args)
        .current_dir(dir)
        .output()
        .expect("fauxto runs")
}

/// A failure that explains itself: exit code 1, no panic, one line mentioning `needle`.
fn assert_clear_error(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 6962 Merkle tree hash, written here independently of the crate.
fn merkle(leaves: &[[u8; 32]]) -> [u8; 32] {
    let hash = |prefix: u8, parts: &[&[u8]]| -> [u8; 32] {
        let mut h = Sha256::new();
        h.update([prefix]);
        parts.iter().for_each(|p| h.update(p));
        h.finalize().into()
    };
    match leaves.len() {
        0 => sha256(b""),
        1 => hash(0, &[&leaves[0]]),
        n => {
            let k = 1 << (usize::BITS - (n - 1).leading_zeros() - 1);
            hash(1, &[&merkle(&leaves[..k]), &merkle(&leaves[k..])])
        }
    }
}

/// What the test zip holds.
struct Fixture {
    zip: PathBuf,
    /// Bytes of every real face by its name in the test zip (`faces/...`).
    faces: HashMap<String, Vec<u8>>,
    /// The label rows of the real labels.csv, by base name.
    labels: HashMap<String, Vec<f32>>,
    /// The face left out of labels.csv.
    unlabelled: String,
    /// The face that `faces/zz_copy.jpg` copies.
    copied: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut src = zip::ZipArchive::new(std::fs::File::open(utkface()).unwrap()).unwrap();
        let mut names: Vec<String> = src
            .file_names()
            .map(|n| n.unwrap().into_owned())
            .filter(|n| n.ends_with(".jpg"))
            .collect();
        names.sort();
        let step = names.len() / FACES;
        let picked: Vec<String> = (0..FACES).map(|i| names[i * step].clone()).collect();
        let mut csv = String::new();
        src.by_name("labels.csv")
            .unwrap()
            .read_to_string(&mut csv)
            .unwrap();
        let mut labels = HashMap::new();
        for line in csv.lines().skip(1) {
            let mut fields = line.split(',');
            let name = fields.next().unwrap().to_string();
            labels.insert(
                name,
                fields.map(|f| f.parse().unwrap()).collect::<Vec<f32>>(),
            );
        }
        let unlabelled = format!("faces/{}", picked[7]);
        let copied = format!("faces/{}", picked[3]);

        let path = scratch("dataset-cli", "zip").join("mixed.zip");
        let mut out = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        let mut faces = HashMap::new();
        // Written in reverse: the dataset must follow sorted names, not archive order.
        for name in picked.iter().rev() {
            let mut bytes = Vec::new();
            src.by_name(name).unwrap().read_to_end(&mut bytes).unwrap();
            out.start_file(format!("faces/{name}"), opts).unwrap();
            out.write_all(&bytes).unwrap();
            faces.insert(format!("faces/{name}"), bytes);
        }
        let mut subset = String::from("file,age,gender,race\n");
        for line in csv.lines().skip(1) {
            let name = line.split(',').next().unwrap();
            if picked.iter().any(|p| p == name) && format!("faces/{name}") != unlabelled {
                subset.push_str(line);
                subset.push('\n');
            }
        }
        // The broken files have label rows, so they are skipped for what they are.
        subset.push_str("zz_truncated.jpg,1,0,0\nzz_text.png,2,1,0\n");
        let first = faces[&copied].clone();
        let entries: [(&str, &[u8]); 7] = [
            ("labels.csv", subset.as_bytes()),
            ("faces/zz_truncated.jpg", &first[..first.len() / 3]),
            ("faces/zz_text.png", b"not an image, just text"),
            ("../evil.png", &first),
            ("/abs.png", &first),
            ("faces/zz_copy.jpg", &first),
            ("notes.txt", b"ignored"),
        ];
        for (name, bytes) in entries {
            out.start_file(name, opts).unwrap();
            out.write_all(bytes).unwrap();
        }
        out.finish().unwrap();
        Fixture {
            zip: path,
            faces,
            labels,
            unlabelled,
            copied,
        }
    })
}

/// Packs the fixture zip at `RES` with the labels inside it; returns the dataset and
/// the JSON report.
fn pack(name: &str, extra: &[&str]) -> (PathBuf, Value) {
    let dir = scratch("dataset-cli", name);
    let data = dir.join("data");
    let mut args = vec![
        "dataset",
        fixture().zip.to_str().unwrap(),
        "--out",
        "data",
        "--res",
        "32",
        "--labels",
        "labels.csv",
        "--license",
        "research only",
        "--json",
    ];
    args.extend_from_slice(extra);
    let report: Value = serde_json::from_str(&ok(&fauxto_in(&dir, &args))).unwrap();
    (data, report)
}

fn packed_zip() -> &'static (PathBuf, Value) {
    static PACKED: OnceLock<(PathBuf, Value)> = OnceLock::new();
    PACKED.get_or_init(|| pack("packed", &["--threads", "2"]))
}

#[test]
fn zip_report_lists_what_was_skipped_and_why() {
    let (data, report) = packed_zip();
    let f = fixture();
    assert_eq!(report["images"], FACES - 1, "{report:#}");
    assert_eq!(
        report["examined"],
        FACES + 3,
        "faces, truncated, text, copy"
    );
    let skipped: HashMap<&str, &str> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(skipped.len(), 5, "{skipped:#?}");
    assert!(skipped["faces/zz_truncated.jpg"].contains("truncated JPEG"));
    assert_eq!(
        skipped["faces/zz_text.png"],
        "not a PNG, JPEG or WebP image"
    );
    assert!(skipped["../evil.png"].contains("refused"));
    assert!(skipped["/abs.png"].contains("refused"));
    assert_eq!(skipped[f.unlabelled.as_str()], "no label row");
    let dups = report["duplicates"].as_array().unwrap();
    assert_eq!(dups.len(), 1);
    assert_eq!(dups[0]["name"], "faces/zz_copy.jpg");
    assert_eq!(dups[0]["same_as"], f.copied.as_str());
    assert_eq!(
        report["label_columns"],
        serde_json::json!(["age", "gender", "race"])
    );
    // Nothing was extracted anywhere, least of all outside the output.
    let dir = data.parent().unwrap();
    assert!(!dir.join("../evil.png").exists());
    assert!(!dir.join("evil.png").exists());
    assert!(!Path::new("/abs.png").exists());
    let mut listing: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    listing.sort();
    assert_eq!(listing, ["data"], "no temporary directory left");
    let mut files: Vec<String> = std::fs::read_dir(data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["dataset.json", "images.u8", "manifest.json"]);
}

#[test]
fn zip_manifest_hashes_merkle_root_and_labels_agree() {
    let (data, report) = packed_zip();
    let f = fixture();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(data.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["format"], "fauxto-manifest");
    assert_eq!(manifest["license"], "research only");
    assert_eq!(manifest["count"], FACES - 1);
    assert!(manifest["source"].as_str().unwrap().ends_with("mixed.zip"));
    assert!(manifest["created"].as_str().unwrap().ends_with('Z'));
    let images = manifest["images"].as_array().unwrap();
    let names: Vec<&str> = images.iter().map(|i| i["name"].as_str().unwrap()).collect();
    let mut expected: Vec<&str> = f
        .faces
        .keys()
        .map(String::as_str)
        .filter(|n| *n != f.unlabelled)
        .collect();
    expected.sort();
    assert_eq!(
        names, expected,
        "sorted names, the unlabelled face left out"
    );
    let hashes: Vec<[u8; 32]> = names.iter().map(|n| sha256(&f.faces[*n])).collect();
    for (image, hash) in images.iter().zip(&hashes) {
        assert_eq!(image["sha256"], hex(hash), "{}", image["name"]);
    }
    assert_eq!(manifest["merkle_root"], hex(&merkle(&hashes)));
    assert_eq!(report["merkle_root"], manifest["merkle_root"]);
    let manifest_bytes = std::fs::read(data.join("manifest.json")).unwrap();
    assert_eq!(report["manifest_digest"], hex(&sha256(&manifest_bytes)));

    let ds = fauxto_data::PackedDataset::open(data).unwrap();
    assert_eq!(
        (ds.len(), ds.resolution(), ds.channels()),
        (FACES - 1, RES, 3)
    );
    assert_eq!(ds.manifest_digest(), hex(&sha256(&manifest_bytes)));
    let size = std::fs::metadata(data.join("images.u8")).unwrap().len();
    assert_eq!(size as usize, (FACES - 1) * RES * RES * 3);
    let labels = ds.labels().unwrap();
    assert_eq!(labels.columns, ["age", "gender", "race"]);
    assert_eq!(labels.values.len(), FACES - 1);
    for (name, row) in names.iter().zip(&labels.values) {
        let base = name.trim_start_matches("faces/");
        assert_eq!(row, &f.labels[base], "{name}");
        // UTKFace names start with age_gender_race.
        let age: f32 = base.split('_').next().unwrap().parse().unwrap();
        assert_eq!(row[0], age);
    }
}

#[test]
fn zip_pixels_equal_a_direct_decode_and_resize() {
    let (data, _) = packed_zip();
    let ds = fauxto_data::PackedDataset::open(data).unwrap();
    let mut packed = vec![0u8; RES * RES * 3];
    for index in [0, 11, FACES - 2] {
        let name = &ds.manifest().images[index].name;
        let img = image::load_from_memory(&fixture().faces[name])
            .unwrap()
            .to_rgb8();
        let direct = image::imageops::resize(
            &img,
            RES as u32,
            RES as u32,
            image::imageops::FilterType::Lanczos3,
        );
        ds.read_image(index, &mut packed).unwrap();
        assert!(
            packed == direct.as_raw().as_slice(),
            "image {index} ({name})"
        );
    }
    assert!(ds.read_image(FACES - 1, &mut packed).is_err());
    assert!(ds.read_image(0, &mut packed[1..]).is_err());
}

#[test]
fn output_does_not_depend_on_threads_and_max_images_takes_the_first() {
    let (data, report) = packed_zip();
    let (one, one_report) = pack("one-thread", &["--threads", "1"]);
    let all = std::fs::read(data.join("images.u8")).unwrap();
    assert!(all == std::fs::read(one.join("images.u8")).unwrap());
    assert_eq!(one_report["merkle_root"], report["merkle_root"]);

    let (first, first_report) = pack("first-five", &["--max-images", "5", "--filter", "box"]);
    assert_eq!(first_report["images"], 5);
    let ds = fauxto_data::PackedDataset::open(&first).unwrap();
    let full = fauxto_data::PackedDataset::open(data).unwrap();
    assert_eq!(ds.manifest().images[..], full.manifest().images[..5]);
    // 128 → 32 with the box filter: each pixel the rounded mean of a 4x4 block.
    let name = &ds.manifest().images[0].name;
    let img = image::load_from_memory(&fixture().faces[name])
        .unwrap()
        .to_rgb8();
    let mut packed = vec![0u8; RES * RES * 3];
    ds.read_image(0, &mut packed).unwrap();
    for (x, y) in [(0, 0), (13, 21), (31, 31)] {
        for c in 0..3 {
            let sum: u32 = (0..16)
                .map(|i| u32::from(img.get_pixel(4 * x + i % 4, 4 * y + i / 4)[c]))
                .sum();
            let want = (f64::from(sum) / 16.0).round() as u8;
            assert_eq!(packed[(y as usize * RES + x as usize) * 3 + c], want);
        }
    }
}

fn encode(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A folder of odd pixel formats, plus a label file on disk.
fn odd_folder(dir: &Path) -> PathBuf {
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    let gray = ImageBuffer::from_fn(16, 16, |x, y| Luma([((x / 2) * 30 + y / 2) as u8]));
    let rgba = ImageBuffer::from_fn(16, 16, |x, _| Rgba([200u8, x as u8 * 10, 7, 0]));
    let deep = ImageBuffer::from_fn(8, 8, |_, _| Rgb([65535u16, 0, 32896]));
    let wide = RgbImage::from_fn(24, 16, |x, _| Rgb([if x < 4 { 255 } else { 0 }, 90, 0]));
    let files = [
        (
            "gray.png",
            encode(DynamicImage::ImageLuma8(gray), ImageFormat::Png),
        ),
        (
            "sub/rgba.png",
            encode(DynamicImage::ImageRgba8(rgba), ImageFormat::Png),
        ),
        (
            "deep.png",
            encode(DynamicImage::ImageRgb16(deep), ImageFormat::Png),
        ),
        (
            "sub/wide.webp",
            encode(DynamicImage::ImageRgb8(wide), ImageFormat::WebP),
        ),
        ("readme.txt", b"not a picture".to_vec()),
    ];
    for (name, bytes) in files {
        std::fs::write(src.join(name), bytes).unwrap();
    }
    std::fs::write(
        dir.join("labels.csv"),
        "file,smile\ngray.png,0.5\nrgba.png,1\ndeep.png,-2\nwide.webp,3\n",
    )
    .unwrap();
    src
}

#[test]
fn folder_of_grayscale_rgba_16_bit_and_wide_images() {
    let dir = scratch("dataset-cli", "folder");
    odd_folder(&dir);
    let args = [
        "dataset", "src", "--out", "d", "--res", "8", "--filter", "box",
    ];
    let mut with_labels = args.to_vec();
    with_labels.extend(["--labels", "labels.csv"]);
    let out = ok(&fauxto_in(&dir, &with_labels));
    assert!(out.contains("wrote 4 images (8x8)"), "{out}");
    assert!(out.contains("Merkle root"), "{out}");
    let ds = fauxto_data::PackedDataset::open(&dir.join("d")).unwrap();
    let names: Vec<&str> = ds
        .manifest()
        .images
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["deep.png", "gray.png", "sub/rgba.png", "sub/wide.webp"]
    );
    assert_eq!(ds.labels().unwrap().values, [[-2.0], [0.5], [1.0], [3.0]]);
    assert!(
        ds.manifest().skipped.is_empty(),
        "readme.txt is ignored silently"
    );
    let mut px = vec![0u8; 8 * 8 * 3];
    let at = |px: &[u8], x: usize, y: usize| {
        [
            px[(y * 8 + x) * 3],
            px[(y * 8 + x) * 3 + 1],
            px[(y * 8 + x) * 3 + 2],
        ]
    };
    ds.read_image(0, &mut px).unwrap();
    assert_eq!(at(&px, 3, 5), [255, 0, 128], "16-bit scaled, copied at 8x8");
    ds.read_image(1, &mut px).unwrap();
    assert_eq!(
        at(&px, 3, 5),
        [95; 3],
        "grayscale replicated, 2x2 blocks averaged"
    );
    ds.read_image(2, &mut px).unwrap();
    assert_eq!(
        at(&px, 2, 0),
        [200, 45, 7],
        "alpha dropped: mean of 40 and 50"
    );
    // Centre crop of 24x16 keeps x = 4..20, so the red stripe at x < 4 is gone.
    ds.read_image(3, &mut px).unwrap();
    assert_eq!(at(&px, 0, 0), [0, 90, 0]);

    // Without cropping the wide image is skipped with its reason.
    let mut no_crop = args.to_vec();
    no_crop.extend(["--crop", "none", "--force", "--json"]);
    let report: Value = serde_json::from_str(&ok(&fauxto_in(&dir, &no_crop))).unwrap();
    assert_eq!(report["images"], 3);
    assert_eq!(report["skipped"][0]["name"], "sub/wide.webp");
    assert!(report["skipped"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("not square (24x16)"));
    // --force replaced the earlier dataset, which had labels.
    assert!(fauxto_data::PackedDataset::open(&dir.join("d"))
        .unwrap()
        .labels()
        .is_none());
}

#[test]
fn bad_input_is_a_clear_error_and_leaves_nothing() {
    let dir = scratch("dataset-cli", "bad");
    let zip = utkface();
    let zip = zip.to_str().unwrap();
    let run = |args: &[&str]| fauxto_in(&dir, args);
    assert_clear_error(
        &run(&["dataset", "missing", "--out", "x", "--res", "16"]),
        "no such file or folder",
    );
    assert_clear_error(
        &run(&["dataset", zip, "--out", "x", "--res", "100"]),
        "power of two",
    );
    assert_clear_error(
        &run(&["dataset", zip, "--out", "x", "--res", "2048"]),
        "power of two",
    );
    assert!(!dir.join("x").exists());
    std::fs::write(dir.join("not-a-zip.zip"), b"hello").unwrap();
    assert_clear_error(
        &run(&["dataset", "not-a-zip.zip", "--out", "x", "--res", "16"]),
        "not a zip",
    );

    std::fs::create_dir_all(dir.join("taken")).unwrap();
    std::fs::write(dir.join("taken/keep.txt"), b"precious").unwrap();
    let out = run(&["dataset", zip, "--out", "taken", "--res", "16"]);
    assert_clear_error(&out, "already exists");
    let out = run(&["dataset", zip, "--out", "taken", "--res", "16", "--force"]);
    assert_clear_error(&out, "--force only replaces a packed dataset");
    assert_eq!(
        std::fs::read(dir.join("taken/keep.txt")).unwrap(),
        b"precious"
    );

    let src = odd_folder(&dir);
    std::fs::write(dir.join("bad.csv"), "file,age\ngray.png,3\nrgba.png,old\n").unwrap();
    let src = src.to_str().unwrap();
    let out = run(&[
        "dataset", src, "--out", "y", "--res", "8", "--labels", "bad.csv",
    ]);
    assert_clear_error(&out, "bad.csv, line 3: column `age`: `old` is not a number");
    let out = run(&[
        "dataset", src, "--out", "y", "--res", "8", "--labels", "nope.csv",
    ]);
    assert_clear_error(&out, "--labels nope.csv: no such file");

    let junk = dir.join("junk");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(junk.join("a.png"), b"text").unwrap();
    std::fs::write(junk.join("b.jpg"), [0xFF, 0xD8, 0xFF]).unwrap();
    let out = run(&["dataset", "junk", "--out", "y", "--res", "8"]);
    assert_clear_error(&out, "no usable images");
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "bad.csv",
            "junk",
            "labels.csv",
            "not-a-zip.zip",
            "src",
            "taken"
        ]
    );
}
