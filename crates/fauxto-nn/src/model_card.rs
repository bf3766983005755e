//! The markdown model card written beside every model file: what the model is, what it was
//! trained on and under which licence, and where it came from.

use std::fmt::Write;

use crate::model_file::ModelFile;

pub fn render(model: &ModelFile) -> String {
    let info = &model.info;
    let g = &info.generator;
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", info.name);
    let _ = writeln!(
        s,
        "A StyleGAN2 generator that makes {res}x{res} images of things that do not exist. \
         Every image made with it is machine-generated (IPTC digital source type \
         `trainedAlgorithmicMedia`).\n",
        res = g.img_resolution
    );
    let _ = writeln!(s, "| | |\n| --- | --- |");
    let row = |s: &mut String, k: &str, v: String| {
        let _ = writeln!(s, "| {k} | {v} |");
    };
    row(
        &mut s,
        "preset",
        info.preset.clone().unwrap_or_else(|| "custom".into()),
    );
    row(&mut s, "resolution", format!("{0}x{0}", g.img_resolution));
    row(&mut s, "image channels", g.img_channels.to_string());
    row(
        &mut s,
        "z / w dimensions",
        format!("{} / {}", g.z_dim, g.w_dim),
    );
    row(
        &mut s,
        "conditioning labels",
        if g.c_dim == 0 {
            "none".into()
        } else {
            g.c_dim.to_string()
        },
    );
    row(&mut s, "mapping layers", g.mapping.num_layers.to_string());
    row(
        &mut s,
        "channels (base / max)",
        format!("{} / {}", g.synthesis.channel_base, g.synthesis.channel_max),
    );
    row(
        &mut s,
        "generator parameters",
        model.generator_size().to_string(),
    );
    row(&mut s, "licence of the weights", info.license.clone());
    if !model.sha256.is_empty() {
        row(&mut s, "file SHA-256", format!("`{}`", model.sha256));
    }
    let _ = writeln!(s, "\n## Training data\n");
    match &info.training_data {
        Some(t) => {
            let _ = writeln!(
                s,
                "{} images from `{}`, licence: {}.\n\nManifest Merkle root: `{}`",
                t.images, t.source, t.license, t.manifest_root
            );
        }
        None if info.provenance.origin == "imported" => {
            let _ = writeln!(
                s,
                "Not recorded: the weights were imported (see Provenance); check the \
                 original model's training data and licence before use."
            );
        }
        None => {
            let _ = writeln!(s, "None: this model has not been trained.");
        }
    }
    let p = &info.provenance;
    let _ = writeln!(s, "\n## Provenance\n");
    let _ = writeln!(s, "- written by {} at {}", p.software, p.created);
    let _ = writeln!(s, "- origin: {}", p.origin);
    if let Some(seed) = p.init_seed {
        let _ = writeln!(s, "- random initialisation seed: {seed}");
    }
    if let Some(kimg) = p.kimg {
        let _ = writeln!(s, "- trained for {kimg} kimg");
    }
    if let Some(source) = &p.source {
        let _ = writeln!(s, "- imported from {source}");
    }
    s
}
