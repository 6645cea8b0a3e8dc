//! Decoding, encoding, resizing and augmentation against direct computations.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rmx_io::image::augment::{augment, AugParams};
use rmx_io::image::codec::{convert, decode, encode, Format};
use rmx_io::image::resize::{resize, Interp};
use rmx_io::image::Image;

fn gradient(h: usize, w: usize) -> Image {
    let data = (0..h * w * 3).map(|i| ((i / 3 % w) * 7 + (i / 3 / w) * 11 + (i % 3) * 40) as u8).collect();
    Image::new(h, w, 3, data)
}

#[test]
fn png_round_trip_is_exact() {
    let img = gradient(13, 17);
    let bytes = encode(&img, Format::Png, 3).unwrap();
    assert_eq!(Format::sniff(&bytes), Some(Format::Png));
    assert_eq!(decode(&bytes, 3).unwrap(), img);
    let gray = convert(img.clone(), 1);
    assert_eq!(decode(&encode(&gray, Format::Png, 9).unwrap(), 1).unwrap(), gray);
    // A gray file decoded as colour replicates the channel.
    let rgb = decode(&encode(&gray, Format::Png, 1).unwrap(), 3).unwrap();
    assert!(rgb.data.chunks(3).zip(&gray.data).all(|(p, &g)| p == [g, g, g]));
}

#[test]
fn jpeg_round_trip_within_jpeg_tolerance() {
    // Smooth (JPEG's chroma subsampling smears sharp colour edges by design).
    let (h, w) = (32, 48);
    let img = Image::new(h, w, 3, (0..h * w * 3).map(|i| [(i / 3 % w) * 5, (i / 3 / w) * 7, 100][i % 3] as u8).collect());
    let bytes = encode(&img, Format::Jpeg, 100).unwrap();
    assert_eq!(Format::sniff(&bytes), Some(Format::Jpeg));
    let back = decode(&bytes, 3).unwrap();
    assert_eq!((back.height, back.width, back.channels), (32, 48, 3));
    let worst = img.data.iter().zip(&back.data).map(|(a, b)| (*a as i32 - *b as i32).abs()).max().unwrap();
    assert!(worst <= 8, "max abs error {worst}");
    let gray = decode(&bytes, 1).unwrap();
    assert_eq!(gray.channels, 1);
}

#[test]
fn corrupt_images_are_errors() {
    assert!(decode(b"not an image", 3).unwrap_err().contains("not a JPEG or PNG"));
    let bytes = encode(&gradient(16, 16), Format::Jpeg, 90).unwrap();
    assert!(decode(&bytes[..bytes.len() / 3], 3).is_err() || decode(&bytes[..40], 3).is_err());
    assert!(decode(&bytes[..20], 3).is_err());
}

#[test]
fn bilinear_matches_a_float_reference() {
    let img = gradient(9, 11);
    for &(h, w) in &[(18, 22), (5, 7), (9, 20), (1, 1)] {
        let out = resize(&img, h, w, Interp::Bilinear);
        let map = |d: usize, dst: usize, src: usize| {
            let f = ((d as f64 + 0.5) * src as f64 / dst as f64 - 0.5).max(0.0);
            let s = (f.floor() as usize).min(src - 1);
            let t = if s >= src - 1 { 0.0 } else { f - s as f64 };
            (s, (s + 1).min(src - 1), t)
        };
        for y in 0..h {
            let (y0, y1, ty) = map(y, h, 9);
            for x in 0..w {
                let (x0, x1, tx) = map(x, w, 11);
                for k in 0..3 {
                    let p = |yy: usize, xx: usize| img.data[(yy * 11 + xx) * 3 + k] as f64;
                    let want = p(y0, x0) * (1.0 - tx) * (1.0 - ty) + p(y0, x1) * tx * (1.0 - ty) + p(y1, x0) * (1.0 - tx) * ty + p(y1, x1) * tx * ty;
                    let got = out.data[(y * w + x) * 3 + k] as f64;
                    assert!((got - want).abs() <= 1.0, "({h},{w}) at ({y},{x},{k}): {got} vs {want}");
                }
            }
        }
    }
    let near = resize(&img, 18, 22, Interp::Nearest);
    assert_eq!(near.data[(3 * 22 + 5) * 3..(3 * 22 + 5) * 3 + 3], img.data[(11 + 2) * 3..(11 + 2) * 3 + 3]);
}

#[test]
fn centre_and_random_crops() {
    let img = gradient(40, 50);
    let mut p = AugParams::new([3, 20, 30]);
    let out = augment(img.clone(), &p, &mut StdRng::seed_from_u64(1));
    assert_eq!(out, img.crop(10, 10, 20, 30));
    p.rand_crop = true;
    let a = augment(img.clone(), &p, &mut StdRng::seed_from_u64(7));
    let b = augment(img.clone(), &p, &mut StdRng::seed_from_u64(7));
    assert_eq!(a, b, "same seed, same crop");
    let found = (0..=20).flat_map(|y| (0..=20).map(move |x| (y, x))).any(|(y, x)| img.crop(y, x, 20, 30) == a);
    assert!(found, "a random crop is a window of the image");
    // Resize of the shorter edge first: 40x50 -> 24x30, then the centre 20x30.
    let mut p = AugParams::new([3, 20, 30]);
    p.resize = 24;
    let out = augment(img.clone(), &p, &mut StdRng::seed_from_u64(1));
    assert_eq!(out, resize(&img, 24, 30, Interp::Bilinear).crop(2, 0, 20, 30));
    // Smaller than the output: scaled up to cover it.
    let out = augment(gradient(10, 12), &AugParams::new([3, 20, 20]), &mut StdRng::seed_from_u64(1));
    assert_eq!((out.height, out.width), (20, 20));
}

#[test]
fn random_steps_keep_the_shape() {
    let img = gradient(64, 80);
    let mut p = AugParams::new([3, 32, 32]);
    p.max_rotate_angle = 10;
    p.max_shear_ratio = 0.1;
    p.max_random_scale = 1.2;
    p.min_random_scale = 0.8;
    p.max_aspect_ratio = 0.25;
    p.pad = 2;
    p.rand_crop = true;
    p.brightness = 0.4;
    p.contrast = 0.4;
    p.saturation = 0.4;
    p.random_h = 10;
    p.random_s = 20;
    p.random_l = 20;
    p.pca_noise = 0.1;
    p.check().unwrap();
    for seed in 0..8 {
        let out = augment(img.clone(), &p, &mut StdRng::seed_from_u64(seed));
        assert_eq!((out.height, out.width, out.channels), (32, 32, 3));
    }
    let mut q = AugParams::new([3, 32, 32]);
    q.random_resized_crop = true;
    q.min_random_area = 0.08;
    q.max_aspect_ratio = 4.0 / 3.0;
    q.min_aspect_ratio = Some(0.75);
    for seed in 0..8 {
        let out = augment(img.clone(), &q, &mut StdRng::seed_from_u64(seed));
        assert_eq!((out.height, out.width), (32, 32));
    }
    q.rand_crop = true;
    assert!(q.check().unwrap_err().contains("random_resized_crop"));
}

