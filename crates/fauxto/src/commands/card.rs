//! Sections that commands write into a model's card (`M.md` beside `M.safetensors`).

use std::path::Path;

use anyhow::{Context, Result};
use fauxto_nn::model_file::{card_path, write_atomic};

/// Replaces the card's section that starts with `heading` (a `## ` line) by `section`,
/// or appends it, leaving the rest of the card as it is.
pub fn update_section(model: &Path, heading: &str, section: &str) -> Result<()> {
    let path = card_path(model);
    let card = std::fs::read_to_string(&path).unwrap_or_default();
    let updated = replace_section(&card, heading, section);
    write_atomic(&path, updated.as_bytes())
        .with_context(|| format!("cannot update the model card {}", path.display()))
}

fn replace_section(card: &str, heading: &str, section: &str) -> String {
    let Some(start) = card.find(heading) else {
        let sep = if card.is_empty() || card.ends_with("\n\n") {
            ""
        } else if card.ends_with('\n') {
            "\n"
        } else {
            "\n\n"
        };
        return format!("{card}{sep}{section}");
    };
    let rest = &card[start + heading.len()..];
    let end = rest
        .find("\n## ")
        .map_or(card.len(), |i| start + heading.len() + i + 1);
    format!("{}{section}{}", &card[..start], &card[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "## Face-space metrics";

    #[test]
    fn a_section_is_appended_once_then_replaced() {
        let card = "# m\n\n## Training data\n\nx\n";
        let once = replace_section(card, H, "## Face-space metrics\n\nA\n");
        assert_eq!(
            once,
            "# m\n\n## Training data\n\nx\n\n## Face-space metrics\n\nA\n"
        );
        let twice = replace_section(&once, H, "## Face-space metrics\n\nB\n");
        assert_eq!(
            twice,
            "# m\n\n## Training data\n\nx\n\n## Face-space metrics\n\nB\n"
        );
        let middle = "# m\n\n## Face-space metrics\n\nA\n\n## Provenance\n\np\n";
        assert_eq!(
            replace_section(middle, H, "## Face-space metrics\n\nB\n\n"),
            "# m\n\n## Face-space metrics\n\nB\n\n## Provenance\n\np\n"
        );
    }
}
