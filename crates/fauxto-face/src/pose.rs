//! Head pose from the 68 landmarks: a weak-perspective (scaled orthographic) fit of a
//! generic six-point 3D face — nose tip, chin, outer eye corners, mouth corners — to the
//! detected points, solved by linear least squares and projected onto the nearest
//! rotation (the first step of DeMenthon & Davis 1995, "Model-based object pose in 25
//! lines of code", without the perspective iterations, which a face's shallow depth
//! does not need).
//!
//! Angles are in degrees, seen from the camera: **yaw** > 0 when the face turns toward the
//! right side of the image, **pitch** > 0 when it tilts up, **roll** > 0 when it leans
//! counter-clockwise in the image.

use serde::{Deserialize, Serialize};

use crate::geometry::Point;
use crate::landmarks::Landmarks68;

/// Generic face in model units (x to the image's right, y up, z toward the camera),
/// by landmark index.
const MODEL: [(usize, [f64; 3]); 6] = [
    (30, [0.0, 0.0, 0.0]),          // nose tip
    (8, [0.0, -330.0, -65.0]),      // chin
    (36, [-225.0, 170.0, -135.0]),  // outer corner of the eye on the image's left
    (45, [225.0, 170.0, -135.0]),   // outer corner of the eye on the image's right
    (48, [-150.0, -150.0, -125.0]), // mouth corner, image left
    (54, [150.0, -150.0, -125.0]),  // mouth corner, image right
];

/// Beyond this yaw (degrees) a face counts as turned rather than frontal.
pub const TURNED_DEGREES: f64 = 15.0;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeadPose {
    pub yaw: f64,
    pub pitch: f64,
    pub roll: f64,
}

/// Which side of the image the face points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Facing {
    Left,
    Frontal,
    Right,
}

impl Facing {
    /// `left`, `frontal` or `right`, as serialised.
    pub fn name(self) -> &'static str {
        match self {
            Facing::Left => "left",
            Facing::Frontal => "frontal",
            Facing::Right => "right",
        }
    }
}

impl HeadPose {
    pub fn facing(&self) -> Facing {
        if self.yaw > TURNED_DEGREES {
            Facing::Right
        } else if self.yaw < -TURNED_DEGREES {
            Facing::Left
        } else {
            Facing::Frontal
        }
    }

    /// Estimates the pose; `None` for degenerate points (all on a line).
    pub fn estimate(landmarks: &Landmarks68) -> Option<HeadPose> {
        let image: Vec<Point> = MODEL.iter().map(|&(i, _)| landmarks.points[i]).collect();
        let model: Vec<[f64; 3]> = MODEL.iter().map(|&(_, p)| p).collect();
        fit(&model, &image)
    }
}

/// Least-squares weak-perspective fit: rows m₀, m₁ of the 2×3 map with
/// `(u, −v) − centre ≈ M · (X − centre)`, then the rotation with rows m₀/|m₀|, m₁/|m₁|
/// (made orthogonal) and their cross product, decomposed as Rz(roll)·Ry(yaw)·Rx(−pitch).
fn fit(model: &[[f64; 3]], image: &[Point]) -> Option<HeadPose> {
    let n = model.len() as f64;
    let mc = (0..3).map(|k| model.iter().map(|p| p[k]).sum::<f64>() / n);
    let mc: Vec<f64> = mc.collect();
    let ic = Point::centre(image);
    let xs: Vec<[f64; 3]> = model
        .iter()
        .map(|p| [p[0] - mc[0], p[1] - mc[1], p[2] - mc[2]])
        .collect();
    // Image y points down; the model's y points up.
    let qs: Vec<[f64; 2]> = image.iter().map(|p| [p.x - ic.x, ic.y - p.y]).collect();
    let mut xtx = [[0.0; 3]; 3];
    let mut xtq = [[0.0; 2]; 3];
    for (x, q) in xs.iter().zip(&qs) {
        for a in 0..3 {
            for b in 0..3 {
                xtx[a][b] += x[a] * x[b];
            }
            for b in 0..2 {
                xtq[a][b] += x[a] * q[b];
            }
        }
    }
    let inv = invert3(xtx)?;
    let row = |b: usize| -> [f64; 3] {
        let mut m = [0.0; 3];
        for (a, m_a) in m.iter_mut().enumerate() {
            *m_a = (0..3).map(|k| inv[a][k] * xtq[k][b]).sum();
        }
        m
    };
    let r1 = normalise(row(0))?;
    let r2 = row(1);
    let along = dot(r1, r2);
    let r2 = normalise([
        r2[0] - along * r1[0],
        r2[1] - along * r1[1],
        r2[2] - along * r1[2],
    ])?;
    let r3 = cross(r1, r2);
    let yaw = (-r3[0]).clamp(-1.0, 1.0).asin();
    let pitch = -r3[1].atan2(r3[2]);
    let roll = r2[0].atan2(r1[0]);
    Some(HeadPose {
        yaw: yaw.to_degrees(),
        pitch: pitch.to_degrees(),
        roll: roll.to_degrees(),
    })
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn normalise(v: [f64; 3]) -> Option<[f64; 3]> {
    let len = dot(v, v).sqrt();
    (len > 1e-12).then(|| [v[0] / len, v[1] / len, v[2] / len])
}

fn invert3(m: [[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let c = |r: usize, k: usize| {
        let (r1, r2) = ((r + 1) % 3, (r + 2) % 3);
        let (k1, k2) = ((k + 1) % 3, (k + 2) % 3);
        m[r1][k1] * m[r2][k2] - m[r1][k2] * m[r2][k1]
    };
    let det = m[0][0] * c(0, 0) + m[0][1] * c(0, 1) + m[0][2] * c(0, 2);
    if det.abs() < 1e-9 {
        return None;
    }
    let mut inv = [[0.0; 3]; 3];
    for (r, row) in inv.iter_mut().enumerate() {
        for (k, v) in row.iter_mut().enumerate() {
            *v = c(k, r) / det;
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Projects the model under a known rotation (Rz·Ry·Rx as in `fit`) to image points.
    fn project(yaw: f64, pitch: f64, roll: f64) -> Vec<Point> {
        let (yaw, pitch, roll) = (yaw.to_radians(), -pitch.to_radians(), roll.to_radians());
        let rx = [
            [1.0, 0.0, 0.0],
            [0.0, pitch.cos(), -pitch.sin()],
            [0.0, pitch.sin(), pitch.cos()],
        ];
        let ry = [
            [yaw.cos(), 0.0, yaw.sin()],
            [0.0, 1.0, 0.0],
            [-yaw.sin(), 0.0, yaw.cos()],
        ];
        let rz = [
            [roll.cos(), -roll.sin(), 0.0],
            [roll.sin(), roll.cos(), 0.0],
            [0.0, 0.0, 1.0],
        ];
        let mul = |a: [[f64; 3]; 3], b: [[f64; 3]; 3]| {
            let mut c = [[0.0; 3]; 3];
            for i in 0..3 {
                for j in 0..3 {
                    c[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
                }
            }
            c
        };
        let r = mul(rz, mul(ry, rx));
        MODEL
            .iter()
            .map(|&(_, p)| {
                let x = dot(r[0], p) * 0.2 + 64.0;
                let y = -dot(r[1], p) * 0.2 + 60.0;
                Point { x, y }
            })
            .collect()
    }

    #[test]
    fn recovers_known_rotations() {
        let model: Vec<[f64; 3]> = MODEL.iter().map(|&(_, p)| p).collect();
        for (yaw, pitch, roll) in [
            (0.0, 0.0, 0.0),
            (30.0, 0.0, 0.0),
            (-25.0, 10.0, 5.0),
            (10.0, -20.0, -15.0),
            (45.0, 15.0, 20.0),
        ] {
            let pose = fit(&model, &project(yaw, pitch, roll)).unwrap();
            let err = (pose.yaw - yaw)
                .abs()
                .max((pose.pitch - pitch).abs())
                .max((pose.roll - roll).abs());
            assert!(err < 1e-6, "({yaw}, {pitch}, {roll}) → {pose:?}");
        }
    }

    #[test]
    fn turned_faces_are_labelled_by_image_side() {
        let model: Vec<[f64; 3]> = MODEL.iter().map(|&(_, p)| p).collect();
        let right = fit(&model, &project(35.0, 0.0, 0.0)).unwrap();
        assert_eq!(right.facing(), Facing::Right);
        // The turned face's nose tip moves toward the image's right.
        let points = project(35.0, 0.0, 0.0);
        assert!(points[0].x > Point::centre(&points[2..4]).x);
        assert_eq!(
            fit(&model, &project(-35.0, 0.0, 0.0)).unwrap().facing(),
            Facing::Left
        );
        assert_eq!(
            fit(&model, &project(5.0, 0.0, 0.0)).unwrap().facing(),
            Facing::Frontal
        );
    }

    #[test]
    fn facing_names_are_the_serialised_names() {
        for f in [Facing::Left, Facing::Frontal, Facing::Right] {
            assert_eq!(serde_json::to_value(f).unwrap(), f.name());
        }
    }

    #[test]
    fn collinear_points_have_no_pose() {
        let model = vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0]];
        let image = vec![Point { x: 0.0, y: 0.0 }; 3];
        assert!(fit(&model, &image).is_none());
    }
}
