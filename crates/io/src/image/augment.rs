//! The augmentations of MXNet's `ImageRecordIter` (its default augmenter), in MXNet's order:
//! resize the shorter edge, rotate/shear/scale (one affine warp), pad, crop (random-resized,
//! sized, or plain random/centre), colour jitter, HSL and PCA lighting noise. Mirroring and
//! normalization happen as the sample is written out (`record_iter.rs`).
//!
//! rmx works on RGB pixels where MXNet works on OpenCV's BGR; the colour steps therefore weigh
//! red by 0.299 and blue by 0.114 as intended, where MXNet's swap them. Random numbers come from
//! the generator the caller passes (seeded per sample), so results are reproducible.

use rand::rngs::StdRng;
use rand::Rng;

use super::color;
use super::resize::{resize, Interp};
use super::Image;

#[derive(Clone, Debug)]
pub struct AugParams {
    /// (channels, height, width) of the output.
    pub data_shape: [usize; 3],
    pub resize: i64,
    pub rand_crop: bool,
    pub random_resized_crop: bool,
    pub max_rotate_angle: i64,
    pub rotate: i64,
    pub rotate_list: Vec<i64>,
    pub max_shear_ratio: f32,
    pub max_aspect_ratio: f32,
    pub min_aspect_ratio: Option<f32>,
    pub max_random_scale: f32,
    pub min_random_scale: f32,
    pub max_random_area: f32,
    pub min_random_area: f32,
    pub max_img_size: f32,
    pub min_img_size: f32,
    pub max_crop_size: i64,
    pub min_crop_size: i64,
    pub pad: usize,
    pub fill_value: u8,
    pub brightness: f32,
    pub contrast: f32,
    pub saturation: f32,
    pub random_h: i64,
    pub random_s: i64,
    pub random_l: i64,
    pub pca_noise: f32,
    pub inter_method: i32,
}

impl AugParams {
    /// MXNet's defaults for an output of `data_shape`.
    pub fn new(data_shape: [usize; 3]) -> Self {
        AugParams {
            data_shape,
            resize: -1,
            rand_crop: false,
            random_resized_crop: false,
            max_rotate_angle: 0,
            rotate: -1,
            rotate_list: Vec::new(),
            max_shear_ratio: 0.0,
            max_aspect_ratio: 0.0,
            min_aspect_ratio: None,
            max_random_scale: 1.0,
            min_random_scale: 1.0,
            max_random_area: 1.0,
            min_random_area: 1.0,
            max_img_size: 1e10,
            min_img_size: 0.0,
            max_crop_size: -1,
            min_crop_size: -1,
            pad: 0,
            fill_value: 255,
            brightness: 0.0,
            contrast: 0.0,
            saturation: 0.0,
            random_h: 0,
            random_s: 0,
            random_l: 0,
            pca_noise: 0.0,
            inter_method: 1,
        }
    }

    /// The parameter combinations MXNet refuses, refused up front with the reason.
    pub fn check(&self) -> Result<(), String> {
        if !matches!(self.inter_method, 0..=4 | 9 | 10) {
            return Err(format!("inter_method must be 0-4, 9 or 10, not {}", self.inter_method));
        }
        if self.random_resized_crop && (self.max_random_scale != 1.0 || self.min_random_scale != 1.0 || self.max_crop_size != -1 || self.min_crop_size != -1 || self.rand_crop) {
            return Err("random_resized_crop cannot be combined with max/min_random_scale, max/min_crop_size or rand_crop".into());
        }
        if (self.max_crop_size != -1 || self.min_crop_size != -1) && (self.max_crop_size < self.min_crop_size || self.min_crop_size < 1) {
            return Err(format!("need 1 <= min_crop_size <= max_crop_size, got {} and {}", self.min_crop_size, self.max_crop_size));
        }
        Ok(())
    }

    fn aspect_range(&self) -> (f32, f32) {
        match self.min_aspect_ratio {
            Some(min) => (min, self.max_aspect_ratio),
            None => (1.0 - self.max_aspect_ratio, 1.0 + self.max_aspect_ratio),
        }
    }

    fn wants_affine(&self) -> bool {
        let (lo, hi) = self.aspect_range();
        self.max_rotate_angle > 0
            || self.max_shear_ratio > 0.0
            || self.rotate > 0
            || !self.rotate_list.is_empty()
            || self.max_random_scale != 1.0
            || self.min_random_scale != 1.0
            || (!self.random_resized_crop && (lo != 1.0 || hi != 1.0))
            || self.max_img_size != 1e10
            || self.min_img_size != 0.0
    }
}

/// The sampling for one resize: MXNet's `inter_method`, 10 drawing one of 0-4 at random. Only
/// nearest (0) and bilinear exist here; cubic, area, Lanczos and "auto" (9) sample bilinearly.
fn interp(p: &AugParams, rng: &mut StdRng) -> Interp {
    match p.inter_method {
        10 => Interp::from_code(rng.random_range(0..=4)),
        code => Interp::from_code(code),
    }
}

fn uniform(rng: &mut StdRng, lo: f32, hi: f32) -> f32 {
    if hi > lo {
        lo + rng.random::<f32>() * (hi - lo)
    } else {
        lo
    }
}

/// Runs every geometric and colour step on a decoded image; the result is the output's
/// height and width.
pub fn augment(img: Image, p: &AugParams, rng: &mut StdRng) -> Image {
    let (out_h, out_w) = (p.data_shape[1], p.data_shape[2]);
    let mut img = img;
    if p.resize > 0 {
        let r = p.resize as usize;
        let (h, w) = if img.height > img.width { (r * img.height / img.width, r) } else { (r, r * img.width / img.height) };
        let method = interp(p, rng);
        img = resize(&img, h.max(1), w.max(1), method);
    }
    if p.wants_affine() {
        img = affine(img, p, rng);
    }
    if p.pad > 0 {
        img = pad(&img, p.pad, p.fill_value);
    }
    let mut cropped = None;
    if p.random_resized_crop {
        cropped = random_resized_crop(&img, p, rng);
    }
    if cropped.is_none() && (p.max_crop_size != -1 || p.min_crop_size != -1) {
        let size = rng.random_range(p.min_crop_size..=p.max_crop_size) as usize;
        let size = size.min(img.height).min(img.width);
        let (y, x) = offsets(img.height - size, img.width - size, p.rand_crop, rng);
        let crop = img.crop(y, x, size, size);
        let method = interp(p, rng);
        cropped = Some(resize(&crop, out_h, out_w, method));
    }
    let mut img = match cropped {
        Some(c) => c,
        None => {
            let method = interp(p, rng);
            if img.height < out_h {
                let w = ((out_h as f64 / img.height as f64) * img.width as f64) as usize;
                img = resize(&img, out_h, w.max(1), method);
            }
            if img.width < out_w {
                let h = ((out_w as f64 / img.width as f64) * img.height as f64) as usize;
                img = resize(&img, h.max(out_h), out_w, method);
            }
            let (y, x) = offsets(img.height - out_h, img.width - out_w, p.rand_crop, rng);
            img.crop(y, x, out_h, out_w)
        }
    };
    if img.channels == 3 {
        color::jitter(&mut img, p, rng);
    }
    img
}

/// The crop's top-left corner: random in range, or centred (rounded down).
fn offsets(dy: usize, dx: usize, random: bool, rng: &mut StdRng) -> (usize, usize) {
    if random {
        let y = rng.random_range(0..=dy);
        (y, rng.random_range(0..=dx))
    } else {
        (dy / 2, dx / 2)
    }
}

fn pad(img: &Image, pad: usize, fill: u8) -> Image {
    let (h, w, c) = (img.height + 2 * pad, img.width + 2 * pad, img.channels);
    let mut out = Image::new(h, w, c, vec![fill; h * w * c]);
    for y in 0..img.height {
        let dst = ((y + pad) * w + pad) * c;
        out.data[dst..dst + img.width * c].copy_from_slice(&img.data[y * img.width * c..(y + 1) * img.width * c]);
    }
    out
}

/// Inception-style crop: a random area and aspect ratio, up to 10 tries, resized to the output.
fn random_resized_crop(img: &Image, p: &AugParams, rng: &mut StdRng) -> Option<Image> {
    let (lo, hi) = p.aspect_range();
    if p.min_random_area == 1.0 && p.max_random_area == 1.0 && lo == 1.0 && hi == 1.0 {
        return None;
    }
    let (rows, cols) = (img.height as f32, img.width as f32);
    for _ in 0..10 {
        let area = uniform(rng, p.min_random_area, p.max_random_area);
        let ratio = uniform(rng, lo, hi);
        let target = rows * cols * area;
        let (mut y, mut x) = ((target / ratio).sqrt().round() as usize, (target * ratio).sqrt().round() as usize);
        if rng.random::<f32>() > 0.5 {
            std::mem::swap(&mut y, &mut x);
        }
        if y >= 1 && x >= 1 && y <= img.height && x <= img.width {
            let y0 = rng.random_range(0..=img.height - y);
            let x0 = rng.random_range(0..=img.width - x);
            let crop = img.crop(y0, x0, y, x);
            let method = interp(p, rng);
            return Some(resize(&crop, p.data_shape[1], p.data_shape[2], method));
        }
    }
    None
}

/// Rotation, shear, scale and aspect ratio as one affine warp about the centre; pixels from
/// outside the source take `fill_value`.
fn affine(img: Image, p: &AugParams, rng: &mut StdRng) -> Image {
    let m = p.max_shear_ratio;
    let shear = rng.random::<f32>() * 2.0 * m - m;
    let mut angle = rng.random_range(-p.max_rotate_angle.abs()..=p.max_rotate_angle.abs()) as f32;
    if p.rotate > 0 {
        angle = p.rotate as f32;
    }
    if !p.rotate_list.is_empty() {
        angle = p.rotate_list[rng.random_range(0..p.rotate_list.len())] as f32;
    }
    let (scale, ratio) = if p.random_resized_crop {
        (1.0, 1.0)
    } else {
        let (lo, hi) = p.aspect_range();
        let s = rng.random::<f32>() * (p.max_random_scale - p.min_random_scale) + p.min_random_scale;
        (s, rng.random::<f32>() * (hi - lo) + lo)
    };
    let (a, b) = ((angle as f64).to_radians().cos() as f32, (angle as f64).to_radians().sin() as f32);
    let hs = 2.0 * scale / (1.0 + ratio);
    let ws = ratio * hs;
    let (rows, cols) = (img.height as f32, img.width as f32);
    let new_w = (scale * cols).clamp(p.min_img_size, p.max_img_size) as usize;
    let new_h = (scale * rows).clamp(p.min_img_size, p.max_img_size) as usize;
    let (new_w, new_h) = (new_w.max(1), new_h.max(1));
    let m00 = hs * a - shear * b * ws;
    let m01 = hs * b + shear * a * ws;
    let m10 = -b * ws;
    let m11 = a * ws;
    let tx = (new_w as f32 - (m00 * cols + m01 * rows)) / 2.0;
    let ty = (new_h as f32 - (m10 * cols + m11 * rows)) / 2.0;
    warp(&img, [m00, m01, tx, m10, m11, ty], new_h, new_w, p.fill_value)
}

/// Bilinear warp by the forward matrix `m` (source to destination), constant border.
fn warp(img: &Image, m: [f32; 6], h: usize, w: usize, fill: u8) -> Image {
    let det = m[0] * m[4] - m[1] * m[3];
    let inv = if det.abs() > 1e-12 { 1.0 / det } else { 0.0 };
    // Inverse of the linear part; the destination-to-source map.
    let (i00, i01, i10, i11) = (m[4] * inv, -m[1] * inv, -m[3] * inv, m[0] * inv);
    let (ox, oy) = (-(i00 * m[2] + i01 * m[5]), -(i10 * m[2] + i11 * m[5]));
    let c = img.channels;
    let mut out = vec![fill; h * w * c];
    let px = |y: isize, x: isize, k: usize| -> f32 {
        if y < 0 || x < 0 || y >= img.height as isize || x >= img.width as isize {
            fill as f32
        } else {
            img.data[(y as usize * img.width + x as usize) * c + k] as f32
        }
    };
    for y in 0..h {
        for x in 0..w {
            let sx = i00 * x as f32 + i01 * y as f32 + ox;
            let sy = i10 * x as f32 + i11 * y as f32 + oy;
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as isize, y0 as isize);
            for k in 0..c {
                let v = px(y0, x0, k) * (1.0 - fx) * (1.0 - fy) + px(y0, x0 + 1, k) * fx * (1.0 - fy) + px(y0 + 1, x0, k) * (1.0 - fx) * fy + px(y0 + 1, x0 + 1, k) * fx * fy;
                out[(y * w + x) * c + k] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    Image::new(h, w, c, out)
}
