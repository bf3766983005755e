//! Framing a photo as the model frames its faces: the eye and mouth centres of the photo's
//! face moved onto where the model's own faces have them on average, by the similarity
//! transform (scale, rotation, shift) that fits the three points best in the least-squares
//! sense (Umeyama 1991, without reflection).
//!
//! The template comes from the model itself rather than from its training data, which need
//! not be at hand: whatever alignment the training photos had, the generator learned it.

use anyhow::{bail, Result};
use burn::tensor::backend::Backend;
use fauxto_face::geometry::Point;
use fauxto_face::landmarks::Landmarks68;
use image::{DynamicImage, Rgb, RgbImage};
use serde::{Deserialize, Serialize};

use crate::judge::Judge;
use crate::latent::{consecutive_seeds, LatentRenderer};

/// The left eye, right eye and mouth centres of a face.
pub fn anchors(landmarks: &Landmarks68) -> [Point; 3] {
    [
        Point::centre(landmarks.left_eye()),
        Point::centre(landmarks.right_eye()),
        Point::centre(landmarks.mouth()),
    ]
}

/// Where a model's faces have their eyes and mouth, in pixels of its square images.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FaceTemplate {
    /// Side of the model's images.
    pub size: usize,
    pub anchors: [Point; 3],
}

/// Faces averaged for a template.
pub const TEMPLATE_FACES: usize = 64;
/// Truncation of the template's faces: typical faces, cleanly detected.
pub const TEMPLATE_PSI: f64 = 0.5;

impl FaceTemplate {
    /// The mean anchors of [`TEMPLATE_FACES`] of the model's faces (seeds from 0, at
    /// ψ = [`TEMPLATE_PSI`]) in which the detector finds a face.
    pub fn of_model<B: Backend>(renderer: &LatentRenderer<B>, judge: &Judge<B>) -> Result<Self> {
        let ws: Vec<Vec<f32>> = renderer
            .w_of(&consecutive_seeds(0, TEMPLATE_FACES))
            .iter()
            .map(|w| renderer.truncate(w, TEMPLATE_PSI))
            .collect();
        let images = renderer.render_batched(&ws, 16)?;
        let size = images[0].width() as usize;
        let found: Vec<[Point; 3]> = judge
            .faces(&images, false)
            .into_iter()
            .flatten()
            .filter(|f| f.detected)
            .map(|f| anchors(&f.landmarks))
            .collect();
        if found.len() < TEMPLATE_FACES / 4 {
            bail!(
                "the face detector finds a face in only {} of {TEMPLATE_FACES} of the model's \
                 images: it does not make faces a photo can be aligned to",
                found.len()
            );
        }
        let mean = |k: usize| {
            let pts: Vec<Point> = found.iter().map(|a| a[k]).collect();
            Point::centre(&pts)
        };
        Ok(FaceTemplate {
            size,
            anchors: [mean(0), mean(1), mean(2)],
        })
    }
}

/// `p ↦ (a·x − b·y + tx, b·x + a·y + ty)`: a rotation by atan2(b, a), a scale by
/// √(a² + b²) and a shift.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    pub a: f64,
    pub b: f64,
    pub tx: f64,
    pub ty: f64,
}

impl Similarity {
    /// The similarity taking `from` closest to `to` (least squares); `None` when `from`'s
    /// points coincide.
    pub fn fit(from: &[Point], to: &[Point]) -> Option<Similarity> {
        assert_eq!(from.len(), to.len(), "point pairs");
        let (cf, ct) = (Point::centre(from), Point::centre(to));
        let (mut num_a, mut num_b, mut den) = (0.0, 0.0, 0.0);
        for (p, q) in from.iter().zip(to) {
            let (x, y) = (p.x - cf.x, p.y - cf.y);
            let (u, v) = (q.x - ct.x, q.y - ct.y);
            num_a += x * u + y * v;
            num_b += x * v - y * u;
            den += x * x + y * y;
        }
        if den < 1e-12 {
            return None;
        }
        let (a, b) = (num_a / den, num_b / den);
        Some(Similarity {
            a,
            b,
            tx: ct.x - (a * cf.x - b * cf.y),
            ty: ct.y - (b * cf.x + a * cf.y),
        })
    }

    pub fn apply(&self, p: Point) -> Point {
        Point {
            x: self.a * p.x - self.b * p.y + self.tx,
            y: self.b * p.x + self.a * p.y + self.ty,
        }
    }

    pub fn scale(&self) -> f64 {
        self.a.hypot(self.b)
    }

    pub fn inverse(&self) -> Similarity {
        let s2 = self.a * self.a + self.b * self.b;
        let (a, b) = (self.a / s2, -self.b / s2);
        Similarity {
            a,
            b,
            tx: -(a * self.tx - b * self.ty),
            ty: -(b * self.tx + a * self.ty),
        }
    }
}

/// The `size`² image whose pixel centre (i + ½, j + ½) shows the photo at
/// `to_photo`(i + ½, j + ½), sampled bilinearly (edges extended) on a grid fine enough to
/// reach every photo pixel and box-filtered down, so that a large photo does not alias.
pub fn warp(photo: &RgbImage, to_photo: &Similarity, size: usize) -> RgbImage {
    let fine = (to_photo.scale().ceil() as usize).clamp(1, 16);
    let (w, h) = (photo.width() as i64, photo.height() as i64);
    let texel = |x: i64, y: i64, c: usize| {
        photo
            .get_pixel(x.clamp(0, w - 1) as u32, y.clamp(0, h - 1) as u32)
            .0[c] as f64
    };
    let sample = |p: Point| -> [f64; 3] {
        let (x, y) = (p.x - 0.5, p.y - 0.5);
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        std::array::from_fn(|c| {
            let top = texel(x0, y0, c) * (1.0 - fx) + texel(x0 + 1, y0, c) * fx;
            let bottom = texel(x0, y0 + 1, c) * (1.0 - fx) + texel(x0 + 1, y0 + 1, c) * fx;
            top * (1.0 - fy) + bottom * fy
        })
    };
    let norm = (fine * fine) as f64;
    RgbImage::from_fn(size as u32, size as u32, |i, j| {
        let mut sum = [0.0; 3];
        for sj in 0..fine {
            for si in 0..fine {
                let p = Point {
                    x: i as f64 + (si as f64 + 0.5) / fine as f64,
                    y: j as f64 + (sj as f64 + 0.5) / fine as f64,
                };
                let s = sample(to_photo.apply(p));
                for c in 0..3 {
                    sum[c] += s[c];
                }
            }
        }
        Rgb(sum.map(|v| (v / norm).round().clamp(0.0, 255.0) as u8))
    })
}

/// A photo's face framed as the model frames its faces.
#[derive(Debug, Clone)]
pub struct AlignedPhoto {
    pub image: RgbImage,
    /// Template pixels → photo pixels.
    pub to_photo: Similarity,
    /// Pixels of the photo per pixel of the aligned image.
    pub scale: f64,
}

/// Aligns the face whose landmarks are `landmarks` (in `photo`'s pixels) to `template`.
pub fn align(
    photo: &DynamicImage,
    landmarks: &Landmarks68,
    template: &FaceTemplate,
) -> Result<AlignedPhoto> {
    let Some(to_template) = Similarity::fit(&anchors(landmarks), &template.anchors) else {
        bail!("the face's eyes and mouth coincide: no alignment");
    };
    let to_photo = to_template.inverse();
    Ok(AlignedPhoto {
        image: warp(&photo.to_rgb8(), &to_photo, template.size),
        to_photo,
        scale: to_photo.scale(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(x: f64, y: f64) -> Point {
        Point { x, y }
    }

    #[test]
    fn fit_recovers_a_known_similarity() {
        let truth = Similarity {
            a: 0.8 * 0.3f64.cos(),
            b: 0.8 * 0.3f64.sin(),
            tx: 5.0,
            ty: -3.0,
        };
        let from = [pt(10.0, 20.0), pt(40.0, 22.0), pt(25.0, 50.0)];
        let to: Vec<Point> = from.iter().map(|&p| truth.apply(p)).collect();
        let fit = Similarity::fit(&from, &to).unwrap();
        for (got, want) in [
            (fit.a, truth.a),
            (fit.b, truth.b),
            (fit.tx, truth.tx),
            (fit.ty, truth.ty),
        ] {
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        }
        let back = fit.inverse().apply(fit.apply(pt(3.0, 7.0)));
        assert!((back.x - 3.0).abs() < 1e-9 && (back.y - 7.0).abs() < 1e-9);
        assert!(Similarity::fit(&[pt(1.0, 1.0); 3], &to).is_none());
    }

    #[test]
    fn warp_by_the_identity_keeps_the_image_and_a_shift_moves_it() {
        let photo = RgbImage::from_fn(16, 16, |x, y| Rgb([(x * 16) as u8, (y * 16) as u8, 7]));
        let identity = Similarity {
            a: 1.0,
            b: 0.0,
            tx: 0.0,
            ty: 0.0,
        };
        assert_eq!(warp(&photo, &identity, 16), photo);
        let shifted = Similarity {
            tx: 2.0,
            ..identity
        };
        let out = warp(&photo, &shifted, 8);
        assert_eq!(out.get_pixel(0, 0), photo.get_pixel(2, 0));
        assert_eq!(out.get_pixel(5, 3), photo.get_pixel(7, 3));
        // Halving: every output pixel is the mean of a 2×2 block.
        let half = Similarity { a: 2.0, ..identity };
        let out = warp(&photo, &half, 8);
        assert_eq!(out.get_pixel(1, 2).0[0], ((2 * 16 + 3 * 16) / 2) as u8);
    }
}
