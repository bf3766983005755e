//! How a detector is judged, as the detection literature judges it: average precision over
//! all thresholds, and accuracy and false-positive rate at one chosen threshold.

use serde::Serialize;

/// One scored example: the detector's probability and whether the image was generated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    pub probability: f32,
    pub generated: bool,
}

/// Average precision with generated images as the positive class: the precision at each
/// distinct score, weighted by the recall it adds (scikit-learn's `average_precision_score`,
/// the figure CNNDetection and its successors report). Tied scores count as one threshold.
/// None without positives.
pub fn average_precision(scored: &[Scored]) -> Option<f64> {
    let positives = scored.iter().filter(|s| s.generated).count();
    if positives == 0 {
        return None;
    }
    let mut sorted = scored.to_vec();
    sorted.sort_by(|a, b| b.probability.total_cmp(&a.probability));
    let (mut tp, mut seen, mut ap) = (0usize, 0usize, 0f64);
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        let mut new_tp = 0;
        while j < sorted.len() && sorted[j].probability == sorted[i].probability {
            new_tp += sorted[j].generated as usize;
            j += 1;
        }
        tp += new_tp;
        seen = j;
        ap += (new_tp as f64 / positives as f64) * (tp as f64 / seen as f64);
        i = j;
    }
    debug_assert_eq!(seen, sorted.len());
    Some(ap)
}

/// Counts at one threshold (a probability at or above it reads as generated).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct AtThreshold {
    pub threshold: f32,
    /// Fraction of all examples classified right.
    pub accuracy: f64,
    /// Fraction of real images called generated.
    pub false_positive_rate: f64,
    /// Fraction of generated images called generated.
    pub true_positive_rate: f64,
}

/// Accuracy, false- and true-positive rates at `threshold`.
pub fn at_threshold(scored: &[Scored], threshold: f32) -> AtThreshold {
    let (mut tp, mut fp, mut pos, mut neg) = (0usize, 0usize, 0usize, 0usize);
    for s in scored {
        let called = s.probability >= threshold;
        if s.generated {
            pos += 1;
            tp += called as usize;
        } else {
            neg += 1;
            fp += called as usize;
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    AtThreshold {
        threshold,
        accuracy: ratio(tp + neg - fp, pos + neg),
        false_positive_rate: ratio(fp, neg),
        true_positive_rate: ratio(tp, pos),
    }
}

/// The threshold of highest accuracy among those that call at most `max_fpr` of the real
/// images generated (the calibration of the shipped threshold: a newsroom needs few false
/// alarms more than it needs every fake caught). Candidates are the midpoints between
/// neighbouring distinct scores, and 0.5.
pub fn calibrate(scored: &[Scored], max_fpr: f64) -> AtThreshold {
    let mut probabilities: Vec<f32> = scored.iter().map(|s| s.probability).collect();
    probabilities.sort_by(f32::total_cmp);
    probabilities.dedup();
    let mut candidates: Vec<f32> = probabilities
        .windows(2)
        .map(|w| 0.5 * (w[0] + w[1]))
        .collect();
    candidates.push(0.5);
    if let Some(&top) = probabilities.last() {
        // Above every score: nothing called generated.
        candidates.push(top.next_up());
    }
    candidates
        .into_iter()
        .map(|t| at_threshold(scored, t))
        .filter(|a| a.false_positive_rate <= max_fpr)
        .max_by(|a, b| {
            a.accuracy
                .total_cmp(&b.accuracy)
                // Among equals, the lower threshold (more fakes caught at the same FPR).
                .then(b.threshold.total_cmp(&a.threshold))
        })
        .unwrap_or(AtThreshold {
            threshold: 1.0,
            ..at_threshold(scored, 1.0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(p: f32, g: bool) -> Scored {
        Scored {
            probability: p,
            generated: g,
        }
    }

    #[test]
    fn average_precision_matches_hand_computed_values() {
        // Perfect ranking.
        let perfect = [s(0.9, true), s(0.8, true), s(0.2, false)];
        assert_eq!(average_precision(&perfect), Some(1.0));
        // Ranking: +, -, +  →  (1/2)(1/1) + (1/2)(2/3) = 5/6 (scikit-learn gives the same).
        let mixed = [s(0.9, true), s(0.5, false), s(0.3, true)];
        assert!((average_precision(&mixed).unwrap() - 5.0 / 6.0).abs() < 1e-12);
        // All tied: precision at the single threshold is the positive share.
        let tied = [s(0.5, true), s(0.5, false), s(0.5, false), s(0.5, true)];
        assert!((average_precision(&tied).unwrap() - 0.5).abs() < 1e-12);
        // Reversed ranking of 1 positive among 4: 1/4.
        let worst = [s(0.1, true), s(0.2, false), s(0.3, false), s(0.4, false)];
        assert!((average_precision(&worst).unwrap() - 0.25).abs() < 1e-12);
        assert_eq!(average_precision(&[s(0.3, false)]), None);
    }

    #[test]
    fn threshold_counts_and_calibration() {
        let scored = [
            s(0.95, true),
            s(0.9, true),
            s(0.6, true),
            s(0.7, false),
            s(0.2, false),
            s(0.1, false),
            s(0.05, false),
        ];
        let at = at_threshold(&scored, 0.5);
        assert_eq!(at.true_positive_rate, 1.0);
        assert_eq!(at.false_positive_rate, 0.25);
        assert!((at.accuracy - 6.0 / 7.0).abs() < 1e-12);
        // No false positive allowed: the threshold must sit above 0.7, losing the 0.6 fake.
        let strict = calibrate(&scored, 0.0);
        assert!(strict.threshold > 0.7 && strict.threshold <= 0.9);
        assert_eq!(strict.false_positive_rate, 0.0);
        assert!((strict.true_positive_rate - 2.0 / 3.0).abs() < 1e-12);
        // One in four allowed: 0.5 (or anything in (0.2, 0.6]) catches every fake.
        let loose = calibrate(&scored, 0.25);
        assert_eq!(loose.true_positive_rate, 1.0);
        assert!(loose.threshold > 0.2 && loose.threshold <= 0.6);
    }
}
