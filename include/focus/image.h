// 8-bit images: PNG and JPEG decoding (libpng, libjpeg), PNG encoding, grey conversion, resizing,
// and conversion to tensors. Used by the image task (predict on any PNG/JPEG) and by viz.
//
//   Image img = read_image("shoe.jpg");                        // any size, grey/RGB/RGBA/palette
//   Tensor x = to_tensor(resize(to_grey(img), 28, 28));        // f32 [1,28,28] in [0, 1]
//   write_png("out.png", img);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "focus/tensor.h"

namespace focus {

struct Image {
  int64_t height = 0, width = 0, channels = 0;  // channels: 1 (grey), 3 (RGB) or 4 (RGBA)
  std::vector<uint8_t> pixels;                  // [height, width, channels], row-major

  Image() = default;
  Image(int64_t height, int64_t width, int64_t channels, uint8_t fill = 0);
  uint8_t* at(int64_t y, int64_t x) { return pixels.data() + (y * width + x) * channels; }
  const uint8_t* at(int64_t y, int64_t x) const {
    return pixels.data() + (y * width + x) * channels;
  }
};

// Decodes a PNG or JPEG file, told apart by their magic bytes (not the extension). 16-bit PNGs
// are reduced to 8 bits, palettes expanded; JPEG in grey or RGB (CMYK is converted), turned
// upright as its EXIF orientation says (as photos from phones need). Errors
// (missing file, other format, truncated or corrupt data, over 2^28 pixels) name the file.
Image read_image(const std::string& path);
Image decode_image(const uint8_t* bytes, size_t size, const std::string& name = "image");

// Writes an 8-bit PNG (grey, RGB or RGBA) to a temporary file and renames it into place.
void write_png(const std::string& path, const Image& image);

// Luma (ITU-R BT.601) of RGB; an alpha channel composites the image over black.
Image to_grey(const Image& image);
Image to_rgb(const Image& image);  // grey replicated; alpha composited over black

// Resamples to height×width with a triangle (bilinear) filter widened by the scale factor when
// shrinking, so downsizing averages every source pixel (as PIL's BILINEAR does) instead of
// aliasing.
Image resize(const Image& image, int64_t height, int64_t width);

// f32 [C,H,W] in [0, 1]; and back (values clamped to [0, 1]).
Tensor to_tensor(const Image& image);
Image from_tensor(const Tensor& chw);

}  // namespace focus
