//! One catalogued face: what the face networks saw in it, where it came from, and which
//! image files it has.

use fauxto_face::dense_net::EXPRESSIONS;
use fauxto_face::{Face, Facing, Gender};
use serde::{Deserialize, Serialize};

/// Age bands as stock services offer them, by the age network's estimate in years:
/// infant under 3, child 3–12, young adult 13–29, adult 30–59, elderly 60 and over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgeBand {
    Infant,
    Child,
    YoungAdult,
    Adult,
    Elderly,
}

impl AgeBand {
    pub const ALL: [AgeBand; 5] = [
        AgeBand::Infant,
        AgeBand::Child,
        AgeBand::YoungAdult,
        AgeBand::Adult,
        AgeBand::Elderly,
    ];

    pub fn of(age: f32) -> Self {
        match age {
            a if a < 3.0 => AgeBand::Infant,
            a if a < 13.0 => AgeBand::Child,
            a if a < 30.0 => AgeBand::YoungAdult,
            a if a < 60.0 => AgeBand::Adult,
            _ => AgeBand::Elderly,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            AgeBand::Infant => "infant",
            AgeBand::Child => "child",
            AgeBand::YoungAdult => "young-adult",
            AgeBand::Adult => "adult",
            AgeBand::Elderly => "elderly",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }
}

/// The name of a gender as the catalogue stores it.
pub fn gender_name(g: Gender) -> &'static str {
    match g {
        Gender::Male => "male",
        Gender::Female => "female",
    }
}

/// The name of a head direction as the catalogue stores it ("frontal" when the pose could
/// not be fitted).
pub fn facing_name(f: Option<Facing>) -> &'static str {
    match f {
        Some(Facing::Left) => "left",
        Some(Facing::Right) => "right",
        _ => "frontal",
    }
}

/// A catalogued face.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaceEntry {
    /// Catalogue id (0 until the face is catalogued).
    pub id: i64,
    pub model_sha256: String,
    pub seed: u32,
    pub truncation: f64,
    /// RFC 3339 time it was catalogued.
    pub created_at: String,
    pub age: f32,
    pub age_band: AgeBand,
    pub gender: String,
    pub gender_probability: f32,
    /// The most probable expression.
    pub expression: String,
    /// Probabilities of the seven expressions, in the order of `EXPRESSIONS`.
    pub expressions: [f32; 7],
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
    pub facing: String,
    pub detection_score: f32,
    /// 128-D identity descriptor.
    #[serde(skip)]
    pub descriptor: Vec<f32>,
    /// Rank within its (age band, gender, expression) group when catalogued.
    #[serde(skip)]
    pub group_rank: i64,
    /// Stored image sizes (pixels per side), largest first.
    pub sizes: Vec<u32>,
    /// The watermark payload its images carry (12 hex digits), if any.
    pub watermark: Option<String>,
}

impl FaceEntry {
    /// The entry of `face`, detected in the image of `seed` at `truncation`.
    pub fn from_face(model_sha256: &str, seed: u32, truncation: f64, face: &Face) -> Self {
        let (yaw, pitch, roll) = face
            .pose
            .map_or((0.0, 0.0, 0.0), |p| (p.yaw, p.pitch, p.roll));
        FaceEntry {
            id: 0,
            model_sha256: model_sha256.into(),
            seed,
            truncation,
            created_at: String::new(),
            age: face.age,
            age_band: AgeBand::of(face.age),
            gender: gender_name(face.gender).into(),
            gender_probability: face.gender_probability,
            expression: face.expression().0.into(),
            expressions: face.expressions,
            yaw: yaw as f32,
            pitch: pitch as f32,
            roll: roll as f32,
            facing: facing_name(face.facing).into(),
            detection_score: face.score as f32,
            descriptor: face.descriptor.clone(),
            group_rank: 0,
            sizes: Vec::new(),
            watermark: None,
        }
    }

    /// The group "diverse" sorting spreads a page over.
    pub fn group(&self) -> (AgeBand, &str, &str) {
        (self.age_band, &self.gender, &self.expression)
    }

    /// The expression probabilities by name.
    pub fn expression_probabilities(&self) -> impl Iterator<Item = (&'static str, f32)> + '_ {
        EXPRESSIONS
            .iter()
            .copied()
            .zip(self.expressions.iter().copied())
    }
}

/// Descriptor bytes as stored: 128 little-endian f32.
pub fn descriptor_bytes(d: &[f32]) -> Vec<u8> {
    d.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A stored descriptor back as floats (None when it is not whole floats).
pub fn descriptor_from_bytes(b: &[u8]) -> Option<Vec<f32>> {
    b.len().is_multiple_of(4).then(|| {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_bands_cover_every_age_once() {
        assert_eq!(AgeBand::of(0.5), AgeBand::Infant);
        assert_eq!(AgeBand::of(3.0), AgeBand::Child);
        assert_eq!(AgeBand::of(12.9), AgeBand::Child);
        assert_eq!(AgeBand::of(29.0), AgeBand::YoungAdult);
        assert_eq!(AgeBand::of(30.0), AgeBand::Adult);
        assert_eq!(AgeBand::of(85.0), AgeBand::Elderly);
        for band in AgeBand::ALL {
            assert_eq!(AgeBand::from_name(band.name()), Some(band));
        }
    }

    #[test]
    fn descriptors_round_trip_through_bytes() {
        let d: Vec<f32> = (0..128).map(|i| i as f32 * 0.01 - 0.5).collect();
        assert_eq!(descriptor_from_bytes(&descriptor_bytes(&d)).unwrap(), d);
        assert!(descriptor_from_bytes(&[1, 2, 3]).is_none());
    }
}
