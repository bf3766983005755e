//! The logistic regression against scikit-learn's `LogisticRegression` on the same data
//! (fixture written by `tools/edit/logistic_reference.py`).

use fauxto_edit::logistic::LinearModel;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fit {
    lambda: f64,
    weight: Vec<f64>,
    bias: f64,
    accuracy: f64,
}

#[derive(Deserialize)]
struct Fixture {
    rows: Vec<Vec<f32>>,
    labels: Vec<bool>,
    fits: Vec<Fit>,
}

#[test]
fn fits_match_scikit_learn() {
    let fixture: Fixture =
        serde_json::from_str(include_str!("fixtures/logistic.json")).expect("fixture");
    let rows: Vec<&[f32]> = fixture.rows.iter().map(Vec::as_slice).collect();
    for fit in &fixture.fits {
        let model = LinearModel::fit(&rows, &fixture.labels, fit.lambda).unwrap();
        let scale = fit.weight.iter().map(|w| w.abs()).fold(0.0, f64::max);
        for (got, want) in model.weight.iter().zip(&fit.weight) {
            assert!(
                (got - want).abs() < 1e-5 * scale,
                "λ {}: weight {got} vs {want}",
                fit.lambda
            );
        }
        assert!(
            (model.bias - fit.bias).abs() < 1e-5 * scale,
            "λ {}: bias",
            fit.lambda
        );
        assert_eq!(model.accuracy(&rows, &fixture.labels), fit.accuracy);
    }
}
