//! JPEG and PNG to and from [`Image`]: zune-jpeg decodes JPEG (SIMD, picked at run time), the
//! `png` crate PNG, `jpeg-encoder` encodes JPEG. Colour conversions follow OpenCV's, which MXNet
//! decodes with: alpha is dropped, gray is replicated to RGB, RGB to gray is
//! `0.299 R + 0.587 G + 0.114 B` in OpenCV's 14-bit fixed point (libpng's own 15-bit weights for
//! a colour PNG read as gray; a JPEG read as gray is its luma channel).

use std::io::Cursor;

use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use super::Image;

/// The formats a record's bytes can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
}

impl Format {
    /// Sniffed from the first bytes, as OpenCV does.
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(&[0xff, 0xd8]) {
            Some(Format::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Format::Png)
        } else {
            None
        }
    }

    /// From a file extension as `cv2.imencode` takes it (".jpg", ".jpeg", ".png").
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext.trim_start_matches('.').to_ascii_lowercase().as_str() {
            "jpg" | "jpeg" | "jpe" => Some(Format::Jpeg),
            "png" => Some(Format::Png),
            _ => None,
        }
    }
}

/// Decodes JPEG or PNG bytes into `channels` (1: gray, 3: RGB) 8-bit channels.
pub fn decode(bytes: &[u8], channels: usize) -> Result<Image, String> {
    if channels != 1 && channels != 3 {
        return Err(format!("images decode to 1 or 3 channels, not {channels}"));
    }
    match Format::sniff(bytes) {
        Some(Format::Jpeg) => decode_jpeg(bytes, channels),
        Some(Format::Png) => decode_png(bytes, channels),
        None => Err(format!("not a JPEG or PNG image (first bytes {:02x?})", &bytes[..bytes.len().min(4)])),
    }
}

fn decode_jpeg(bytes: &[u8], channels: usize) -> Result<Image, String> {
    let space = if channels == 1 { ColorSpace::Luma } else { ColorSpace::RGB };
    let options = DecoderOptions::default().jpeg_set_out_colorspace(space).set_strict_mode(false);
    let mut decoder = JpegDecoder::new_with_options(zune_core::bytestream::ZCursor::new(bytes), options);
    let data = decoder.decode().map_err(|e| format!("{e:?}"))?;
    let info = decoder.info().ok_or("no JPEG header")?;
    let (h, w) = (info.height as usize, info.width as usize);
    let got = data.len() / (h * w).max(1);
    if got * h * w != data.len() || got == 0 {
        return Err(format!("decoder returned {} bytes for {h}x{w}", data.len()));
    }
    Ok(convert(Image::new(h, w, got, data), channels))
}

fn decode_png(bytes: &[u8], channels: usize) -> Result<Image, String> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let size = reader.output_buffer_size().ok_or("PNG too large")?;
    let mut data = vec![0; size];
    let info = reader.next_frame(&mut data).map_err(|e| e.to_string())?;
    let (h, w) = (info.height as usize, info.width as usize);
    let got = info.color_type.samples();
    data.truncate(info.line_size * h);
    // Rows are tightly packed for 8-bit output, so line_size == w * samples.
    if info.line_size != w * got {
        return Err(format!("unexpected PNG row size {} for width {w}", info.line_size));
    }
    let img = Image::new(h, w, got, data);
    if channels == 1 && got >= 3 {
        return Ok(png_gray(&img));
    }
    Ok(convert(img, channels))
}

/// libpng's RGB-to-gray, which OpenCV's PNG reader asks for: `(9797 R + 19234 G + 3737 B) >> 15`.
fn png_gray(img: &Image) -> Image {
    let c = img.channels;
    let data = img.data.chunks_exact(c).map(|p| ((9797 * p[0] as u32 + 19234 * p[1] as u32 + 3737 * p[2] as u32) >> 15) as u8).collect();
    Image::new(img.height, img.width, 1, data)
}

/// From 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) channels to 1 or 3.
pub fn convert(img: Image, channels: usize) -> Image {
    if img.channels == channels {
        return img;
    }
    let n = img.height * img.width;
    let c = img.channels;
    let data = match (c, channels) {
        (1 | 2, 3) => (0..n).flat_map(|i| [img.data[i * c]; 3]).collect(),
        (1 | 2, 1) => (0..n).map(|i| img.data[i * c]).collect(),
        (3 | 4, 3) => (0..n).flat_map(|i| [img.data[i * c], img.data[i * c + 1], img.data[i * c + 2]]).collect(),
        _ => (0..n).map(|i| gray(&img.data[i * c..i * c + 3])).collect(),
    };
    Image::new(img.height, img.width, channels, data)
}

/// OpenCV's RGB-to-gray: coefficients 0.299, 0.587, 0.114 scaled by 2^14, rounded.
fn gray(rgb: &[u8]) -> u8 {
    const R: u32 = 4899;
    const G: u32 = 9617;
    const B: u32 = 1868;
    ((rgb[0] as u32 * R + rgb[1] as u32 * G + rgb[2] as u32 * B + (1 << 13)) >> 14) as u8
}

/// Encodes an RGB or gray image; `quality` is JPEG's 1-100 or PNG's compression level 0-9.
pub fn encode(img: &Image, format: Format, quality: u32) -> Result<Vec<u8>, String> {
    let (h, w) = (u16::try_from(img.height), u16::try_from(img.width));
    let mut out = Vec::new();
    match format {
        Format::Jpeg => {
            let (Ok(h), Ok(w)) = (h, w) else { return Err(format!("JPEG holds at most 65535x65535 pixels, not {}x{}", img.height, img.width)) };
            let color = match img.channels {
                1 => jpeg_encoder::ColorType::Luma,
                3 => jpeg_encoder::ColorType::Rgb,
                c => return Err(format!("JPEG encodes 1 or 3 channels, not {c}")),
            };
            let mut enc = jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100) as u8);
            // libjpeg's (and so OpenCV's) default: chroma halved both ways at every quality.
            enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
            enc.encode(&img.data, w, h, color).map_err(|e| e.to_string())?;
        }
        Format::Png => {
            let color = match img.channels {
                1 => png::ColorType::Grayscale,
                3 => png::ColorType::Rgb,
                c => return Err(format!("PNG encodes 1 or 3 channels here, not {c}")),
            };
            let mut enc = png::Encoder::new(&mut out, img.width as u32, img.height as u32);
            enc.set_color(color);
            enc.set_depth(png::BitDepth::Eight);
            enc.set_compression(match quality {
                0 => png::Compression::NoCompression,
                1..=2 => png::Compression::Fast,
                3..=7 => png::Compression::Balanced,
                _ => png::Compression::High,
            });
            let mut writer = enc.write_header().map_err(|e| e.to_string())?;
            writer.write_image_data(&img.data).map_err(|e| e.to_string())?;
            writer.finish().map_err(|e| e.to_string())?;
        }
    }
    Ok(out)
}
