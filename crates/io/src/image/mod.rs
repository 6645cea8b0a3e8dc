//! Images as the data path sees them: 8-bit, interleaved (height, width, channels), RGB order
//! (or one gray channel). `codec` decodes and encodes JPEG and PNG; `resize` scales;
//! `augment` turns a decoded image into a normalized float sample.

pub mod augment;
pub mod color;
pub mod codec;
pub mod resize;

/// An 8-bit image, rows of `width * channels` bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub data: Vec<u8>,
}

impl Image {
    pub fn new(height: usize, width: usize, channels: usize, data: Vec<u8>) -> Self {
        assert_eq!(data.len(), height * width * channels, "image buffer size");
        Image { height, width, channels, data }
    }

    /// The rectangle at (`y`, `x`) of `h`×`w` (which must lie inside the image).
    pub fn crop(&self, y: usize, x: usize, h: usize, w: usize) -> Image {
        assert!(y + h <= self.height && x + w <= self.width, "crop outside the image");
        let c = self.channels;
        let mut data = Vec::with_capacity(h * w * c);
        for row in y..y + h {
            let start = (row * self.width + x) * c;
            data.extend_from_slice(&self.data[start..start + w * c]);
        }
        Image::new(h, w, c, data)
    }
}
