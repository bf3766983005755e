//! The loaders of outside data, as each fuzz target drives them: any bytes in, an error is
//! fine; a panic, a hang or an allocation beyond the fuzzer's memory limit is a finding.
//! `fuzz/fuzz_targets/*` call these under libFuzzer; `tests/corpora.rs` replays the
//! committed corpora and regression cases through the same functions in every test run.

use std::sync::OnceLock;

use burn::backend::Flex;
use fauxto_app::guard::frame_of;
use fauxto_app::images::decode_image;
use fauxto_data::decode::decode_rgb8;
use fauxto_data::labels::parse_labels;
use fauxto_data::source::Source;
use fauxto_face::{AnalyzeOptions, FaceAnalyzer};
use fauxto_interop::{import, ImportOptions};
use fauxto_nn::model_file::ModelFile;
use fauxto_trust::credentials::verify;
use fauxto_trust::watermark::{detect, Key};

/// What a fuzz target does with one input.
pub type Harness = fn(&[u8]);

/// The fuzz targets, by the names of their `fuzz/fuzz_targets/*.rs` files.
pub const TARGETS: [(&str, Harness); 5] = [
    ("import", official_import),
    ("model_file", model_file),
    ("dataset_source", dataset_source),
    ("image_input", image_input),
    ("credential", credential),
];

/// Official network pickles and zip state dicts (`fauxto import`).
pub fn official_import(data: &[u8]) {
    let options = ImportOptions {
        discriminator: true,
        ..Default::default()
    };
    let _ = import(data, &options);
}

/// A fauxto model file (safetensors + metadata), then the networks built from it.
pub fn model_file(data: &[u8]) {
    if let Ok(model) = ModelFile::from_bytes(data) {
        let _ = model.generator::<Flex>(&Default::default());
        let _ = model.discriminator::<Flex>(&Default::default());
        let _ = model.card();
    }
}

/// A dataset source: a labels CSV, and a zip archive whose entries are listed, read and
/// decoded as the dataset tool does.
pub fn dataset_source(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_labels(text, "labels.csv");
    }
    let path = std::env::temp_dir().join(format!(
        "fauxto-fuzz-{}-{:?}.zip",
        std::process::id(),
        std::thread::current().id()
    ));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(source) = Source::open(&path) {
        if let (Ok((entries, _skipped)), Ok(mut reader)) = (source.entries(), source.reader()) {
            for entry in entries.iter().take(64) {
                if let Ok(bytes) = reader.read(entry) {
                    let _ = decode_rgb8(&bytes);
                }
            }
        }
    }
    let _ = std::fs::remove_file(&path);
}

fn analyzer() -> &'static FaceAnalyzer<Flex> {
    static ANALYZER: OnceLock<FaceAnalyzer<Flex>> = OnceLock::new();
    ANALYZER.get_or_init(|| FaceAnalyzer::embedded(&Default::default()).expect("face networks"))
}

/// An input image through what `analyze` and `watermark detect` do with it: decoding with
/// fauxto's limits, watermark detection, and (for images up to 256x256) the face networks.
pub fn image_input(data: &[u8]) {
    let Ok(img) = decode_image(data) else {
        return;
    };
    let _ = detect(&img.to_rgb8(), &Key::from_passphrase("fauxto-public"));
    if img.width() as u64 * img.height() as u64 <= 256 * 256 {
        let _ = analyzer().analyze(&[frame_of(&img)], &AnalyzeOptions::default());
    }
}

/// A signed image through Content Credential verification, for every format fauxto signs.
pub fn credential(data: &[u8]) {
    for mime in ["image/png", "image/jpeg", "image/webp", "image/gif"] {
        let _ = verify(data, mime, None);
    }
}
