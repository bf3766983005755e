//! Cropping to a square and resizing to the training resolution.

use image::{imageops, RgbImage};

/// How a non-square image is made square.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Crop {
    /// The largest centred square (offsets rounded down).
    #[default]
    Center,
    /// No cropping: images that are not square are skipped.
    None,
}

/// The resampling filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    /// Lanczos with 3 lobes (the image crate's `Lanczos3`), for any scale factor.
    #[default]
    Lanczos,
    /// Exact area averaging: each output pixel is the rounded mean of its `f × f` block of
    /// source pixels. Only defined for integer downscale factors `f`; images of any other
    /// size are resized with Lanczos instead (counted in the build report).
    Box,
}

/// A square, resized image.
#[derive(Debug, Clone, PartialEq)]
pub struct Squared {
    /// `res × res` pixels.
    pub image: RgbImage,
    /// Whether [`Filter::Box`] was asked for but Lanczos was used (not an integer
    /// downscale factor).
    pub box_fallback: bool,
}

/// The square `img` is cut to: itself if square, else the largest centred square with
/// [`Crop::Center`], or the reason it is skipped with [`Crop::None`].
pub fn crop_square(img: RgbImage, crop: Crop) -> Result<RgbImage, String> {
    let (w, h) = img.dimensions();
    if w == h {
        return Ok(img);
    }
    match crop {
        Crop::None => Err(format!(
            "not square ({w}x{h}); use --crop center to cut the centred square"
        )),
        Crop::Center => {
            let side = w.min(h);
            Ok(imageops::crop_imm(&img, (w - side) / 2, (h - side) / 2, side, side).to_image())
        }
    }
}

/// Resizes a square image to `res × res`; an image already of that size is returned
/// unchanged (no resampling).
pub fn resize_square(img: RgbImage, res: u32, filter: Filter) -> Squared {
    let side = img.width();
    debug_assert_eq!(side, img.height(), "resize_square takes square images");
    if side == res {
        return Squared {
            image: img,
            box_fallback: false,
        };
    }
    let integer_downscale = side > res && side.is_multiple_of(res);
    match filter {
        Filter::Box if integer_downscale => Squared {
            image: box_downscale(&img, side / res),
            box_fallback: false,
        },
        _ => Squared {
            image: imageops::resize(&img, res, res, imageops::FilterType::Lanczos3),
            box_fallback: filter == Filter::Box,
        },
    }
}

/// Crops and resizes `img` to `res × res`, or says why it cannot be used.
pub fn square(img: RgbImage, res: u32, crop: Crop, filter: Filter) -> Result<Squared, String> {
    Ok(resize_square(crop_square(img, crop)?, res, filter))
}

/// Area averaging by the integer factor `f`: the mean of each `f × f` block, rounded
/// half up.
pub fn box_downscale(img: &RgbImage, f: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    assert!(
        f > 0 && w % f == 0 && h % f == 0,
        "box_downscale: {w}x{h} by {f}"
    );
    let (ow, oh) = (w / f, h / f);
    let (f, w, ow) = (f as usize, w as usize, ow as usize);
    let area = (f * f) as u32;
    let src = img.as_raw();
    let mut out = Vec::with_capacity(ow * oh as usize * 3);
    let mut sums = vec![0u32; ow * 3];
    for oy in 0..oh as usize {
        sums.fill(0);
        for row in src[oy * f * w * 3..][..f * w * 3].chunks_exact(w * 3) {
            for (x, px) in row.chunks_exact(3).enumerate() {
                let s = &mut sums[x / f * 3..][..3];
                for c in 0..3 {
                    s[c] += u32::from(px[c]);
                }
            }
        }
        out.extend(sums.iter().map(|&s| ((s + area / 2) / area) as u8));
    }
    RgbImage::from_raw(ow as u32, oh, out).expect("sized to fit")
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn box_averages_blocks_exactly() {
        // 4x4 of 2x2 blocks: a flat 10, a flat 200, a checker of 0/255 (mean 127.5 → 128)
        // and 1,2,2,2 (mean 1.75 → 2); blue is 255 - red.
        let blocks = [
            [[10, 10, 10, 10], [200; 4]],
            [[0, 255, 255, 0], [1, 2, 2, 2]],
        ];
        let img = RgbImage::from_fn(4, 4, |x, y| {
            let v = blocks[(y / 2) as usize][(x / 2) as usize][(y % 2 * 2 + x % 2) as usize];
            Rgb([v, 7, 255 - v])
        });
        let out = box_downscale(&img, 2);
        assert_eq!(out.dimensions(), (2, 2));
        assert_eq!(out.get_pixel(0, 0).0, [10, 7, 245]);
        assert_eq!(out.get_pixel(1, 0).0, [200, 7, 55]);
        assert_eq!(out.get_pixel(0, 1).0, [128, 7, 128]);
        assert_eq!(out.get_pixel(1, 1).0, [2, 7, 253]);
        let one = box_downscale(&img, 4);
        // (4·10 + 4·200 + 510 + 7) / 16 = 84.81 → 85; blue (16·255 − 1357) / 16 = 170.2 → 170.
        assert_eq!(one.get_pixel(0, 0).0, [85, 7, 170]);
        let r = resize_square(img, 2, Filter::Box);
        assert!(!r.box_fallback);
        assert_eq!(r.image, out);
    }

    #[test]
    fn box_falls_back_to_lanczos_for_other_factors() {
        let img = RgbImage::from_fn(6, 6, |x, _| Rgb([x as u8 * 40; 3]));
        let r = resize_square(img.clone(), 4, Filter::Box);
        assert!(r.box_fallback);
        assert_eq!(r.image.dimensions(), (4, 4));
        let up = resize_square(img.clone(), 8, Filter::Box);
        assert!(up.box_fallback);
        let same = resize_square(img.clone(), 6, Filter::Lanczos);
        assert_eq!(same.image, img, "same size: copied, not resampled");
        let lanczos = resize_square(img, 4, Filter::Lanczos);
        assert!(!lanczos.box_fallback);
        assert_eq!(lanczos.image, r.image);
    }

    #[test]
    fn crop_takes_the_centred_square() {
        let wide = RgbImage::from_fn(7, 3, |x, y| Rgb([x as u8, y as u8, 0]));
        let c = crop_square(wide.clone(), Crop::Center).unwrap();
        assert_eq!(c.dimensions(), (3, 3));
        assert_eq!(c.get_pixel(0, 0).0, [2, 0, 0]);
        assert_eq!(c.get_pixel(2, 2).0, [4, 2, 0]);
        let tall = RgbImage::from_fn(2, 5, |x, y| Rgb([x as u8, y as u8, 0]));
        let c = crop_square(tall, Crop::Center).unwrap();
        assert_eq!(c.get_pixel(0, 0).0, [0, 1, 0]);
        assert_eq!(c.get_pixel(1, 1).0, [1, 2, 0]);
        let err = crop_square(wide, Crop::None).unwrap_err();
        assert!(err.starts_with("not square (7x3)"), "{err}");
        let sq = RgbImage::new(3, 3);
        assert_eq!(crop_square(sq.clone(), Crop::None).unwrap(), sq);
        let s = square(RgbImage::new(16, 8), 4, Crop::Center, Filter::Box).unwrap();
        assert_eq!((s.image.dimensions(), s.box_fallback), ((4, 4), false));
    }
}
