//! The attributes a face can be edited along, each read from the face networks (the
//! judges): age and gender from the age/gender network, a smile from the expression
//! network's "happy" probability, head yaw and pitch from the 68 landmarks.

use std::fmt;
use std::str::FromStr;

use fauxto_face::Face;
use serde::{Deserialize, Serialize};

/// An editable attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Attribute {
    /// Apparent age in years.
    Age,
    /// Probability of "female" (the network knows two genders).
    Gender,
    /// Probability of the "happy" expression.
    Smile,
    /// Head yaw in degrees, > 0 toward the right side of the image.
    Yaw,
    /// Head pitch in degrees, > 0 tilted up.
    Pitch,
}

/// What an attribute's score is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Years,
    Probability,
    Degrees,
}

impl Attribute {
    pub const ALL: [Attribute; 5] = [
        Attribute::Age,
        Attribute::Gender,
        Attribute::Smile,
        Attribute::Yaw,
        Attribute::Pitch,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Attribute::Age => "age",
            Attribute::Gender => "gender",
            Attribute::Smile => "smile",
            Attribute::Yaw => "yaw",
            Attribute::Pitch => "pitch",
        }
    }

    /// Position in [`Attribute::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn unit(self) -> Unit {
        match self {
            Attribute::Age => Unit::Years,
            Attribute::Gender | Attribute::Smile => Unit::Probability,
            Attribute::Yaw | Attribute::Pitch => Unit::Degrees,
        }
    }

    /// Whether a slider moves this attribute in its own unit (years, degrees) rather than
    /// in standard deviations of the latent's position along the direction: probabilities
    /// saturate, so a step of "0.2 more female" means nothing on its own.
    pub fn slider_in_own_unit(self) -> bool {
        self.unit() != Unit::Probability
    }

    /// The slider's unit, for messages.
    pub fn slider_unit(self) -> &'static str {
        match self.unit() {
            Unit::Years => "years",
            Unit::Degrees => "degrees",
            Unit::Probability => "σ",
        }
    }

    /// What the high end of the score means, for messages ("older", "more female").
    pub fn positive_end(self) -> &'static str {
        match self {
            Attribute::Age => "older",
            Attribute::Gender => "female",
            Attribute::Smile => "smiling",
            Attribute::Yaw => "turned toward the image's right",
            Attribute::Pitch => "tilted up",
        }
    }

    /// The judges' score of this attribute on `face`; `None` when they cannot tell (no
    /// head pose for degenerate landmarks).
    pub fn score(self, face: &Face) -> Option<f64> {
        match self {
            Attribute::Age => Some(face.age as f64),
            Attribute::Gender => Some(female_probability(face)),
            Attribute::Smile => Some(face.expressions[HAPPY] as f64),
            Attribute::Yaw => face.pose.map(|p| p.yaw),
            Attribute::Pitch => face.pose.map(|p| p.pitch),
        }
    }
}

/// Index of "happy" in the expression network's outputs.
const HAPPY: usize = 1;

fn female_probability(face: &Face) -> f64 {
    let p = face.gender_probability as f64;
    match face.gender {
        fauxto_face::Gender::Female => p,
        fauxto_face::Gender::Male => 1.0 - p,
    }
}

/// Every attribute's score of one face, by [`Attribute::index`].
pub type Scores = [Option<f64>; Attribute::ALL.len()];

/// All scores of `face`, or all `None` when no face was analysed.
pub fn scores(face: Option<&Face>) -> Scores {
    let mut out = [None; Attribute::ALL.len()];
    if let Some(face) = face {
        for a in Attribute::ALL {
            out[a.index()] = a.score(face);
        }
    }
    out
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Attribute {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Attribute::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = Attribute::ALL.iter().map(|a| a.name()).collect();
                format!("unknown attribute {s:?}: one of {}", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_indices_follow_all() {
        for (i, a) in Attribute::ALL.into_iter().enumerate() {
            assert_eq!(a.index(), i);
            assert_eq!(a.name().parse::<Attribute>(), Ok(a));
            assert_eq!(a.name().to_uppercase().parse::<Attribute>(), Ok(a));
        }
        assert!("beard".parse::<Attribute>().unwrap_err().contains("age"));
    }

    #[test]
    fn happy_is_the_expression_networks_second_output() {
        assert_eq!(fauxto_face::dense_net::EXPRESSIONS[HAPPY], "happy");
    }
}
