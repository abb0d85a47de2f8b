// PNG through libpng's simplified API (no longjmp in our code); JPEG through libjpeg with an error
// manager that longjmps back here, where only plain data is alive.
#include "focus/image.h"

#include <jpeglib.h>
#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "focus/error.h"

namespace focus {

namespace {

constexpr int64_t kMaxPixels = int64_t(1) << 28;

Image decode_png(const uint8_t* bytes, size_t size, const std::string& name) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes, size))
    throw Error(detail::cat("image: ", name, ": bad PNG (", png.message, ")"));
  const bool colour = png.format & PNG_FORMAT_FLAG_COLOR,
             alpha = png.format & PNG_FORMAT_FLAG_ALPHA,
             wide = png.format & PNG_FORMAT_FLAG_LINEAR;  // 16-bit samples
  png.format = colour ? (alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB)
                      : (alpha ? PNG_FORMAT_GA : PNG_FORMAT_GRAY);
  // libpng's simplified API takes 16-bit samples for linear light and re-encodes them as sRGB
  // when asked for 8 bits (a mid grey 32768 became 188); they are read as 16 bits here and
  // scaled to 8 (round(v/257), as other readers do). Linear formats premultiply by alpha.
  if (wide) png.format |= PNG_FORMAT_FLAG_LINEAR;
  if (int64_t(png.width) * png.height > kMaxPixels) {
    png_image_free(&png);
    throw Error(detail::cat("image: ", name, ": ", png.width, "x", png.height,
                            " pixels is more than this reader accepts"));
  }
  const int64_t channels = PNG_IMAGE_SAMPLE_CHANNELS(png.format);
  Image img(png.height, png.width, channels);
  if (wide) {
    std::vector<uint16_t> v(size_t(png.height) * png.width * size_t(channels));
    if (!png_image_finish_read(&png, nullptr, v.data(), 0, nullptr))
      throw Error(detail::cat("image: ", name, ": bad or truncated PNG (", png.message, ")"));
    const int64_t colours = alpha ? channels - 1 : channels;
    for (size_t p = 0; p < v.size(); p += size_t(channels)) {
      const double a = alpha ? v[p + size_t(colours)] : 65535.0;
      for (int64_t k = 0; k < channels; ++k) {
        double x = v[p + size_t(k)];
        if (k < colours && alpha) x = a > 0 ? std::min(65535.0, x * 65535.0 / a) : 0.0;
        img.pixels[p + size_t(k)] = uint8_t(std::lround(x / 257.0));
      }
    }
  } else if (!png_image_finish_read(&png, nullptr, img.pixels.data(), 0, nullptr)) {
    throw Error(detail::cat("image: ", name, ": bad or truncated PNG (", png.message, ")"));
  }
  if (img.channels == 2) {  // grey + alpha -> RGBA, so callers see 1, 3 or 4 channels
    Image rgba(img.height, img.width, 4);
    for (int64_t i = 0; i < img.height * img.width; ++i) {
      const uint8_t g = img.pixels[size_t(2 * i)], a = img.pixels[size_t(2 * i + 1)];
      uint8_t* o = rgba.pixels.data() + 4 * i;
      o[0] = o[1] = o[2] = g;
      o[3] = a;
    }
    return rgba;
  }
  return img;
}

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_fail(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void jpeg_quiet(j_common_ptr, int) {}  // warnings (e.g. premature end) are not printed

// The EXIF orientation (1-8; 1 when absent or unreadable) in an APP1 marker's data: cameras
// store pixels as the sensor read them and say in this tag how to turn them for display.
int exif_orientation(const uint8_t* d, size_t n) {
  if (n < 14 || std::memcmp(d, "Exif\0\0", 6) != 0) return 1;
  const uint8_t* t = d + 6;  // the TIFF header; offsets count from here
  const size_t size = n - 6;
  const bool le = t[0] == 'I' && t[1] == 'I';
  if (!le && !(t[0] == 'M' && t[1] == 'M')) return 1;
  auto u16 = [&](size_t at) { return le ? t[at] | t[at + 1] << 8 : t[at] << 8 | t[at + 1]; };
  auto u32 = [&](size_t at) {
    return le ? uint32_t(u16(at)) | uint32_t(u16(at + 2)) << 16
              : uint32_t(u16(at)) << 16 | uint32_t(u16(at + 2));
  };
  const size_t ifd = u32(4);
  if (ifd + 2 > size) return 1;
  const size_t entries = size_t(u16(ifd));
  for (size_t k = 0; k < entries && ifd + 2 + 12 * (k + 1) <= size; ++k) {
    const size_t e = ifd + 2 + 12 * k;
    if (u16(e) == 0x0112 && u16(e + 2) == 3) {  // Orientation, SHORT
      const int o = u16(e + 8);
      return o >= 1 && o <= 8 ? o : 1;
    }
  }
  return 1;
}

// The image turned as EXIF orientation `o` says (the same as PIL's ImageOps.exif_transpose).
Image orient(const Image& in, int o) {
  if (o <= 1) return in;
  const int64_t h = in.height, w = in.width, c = in.channels;
  const bool swap = o >= 5;
  Image out(swap ? w : h, swap ? h : w, c);
  for (int64_t y = 0; y < out.height; ++y)
    for (int64_t x = 0; x < out.width; ++x) {
      int64_t sy = y, sx = x;
      switch (o) {
        case 2:
          sx = w - 1 - x;
          break;
        case 3:
          sy = h - 1 - y, sx = w - 1 - x;
          break;
        case 4:
          sy = h - 1 - y;
          break;
        case 5:
          sy = x, sx = y;
          break;
        case 6:
          sy = h - 1 - x, sx = y;
          break;
        case 7:
          sy = h - 1 - x, sx = w - 1 - y;
          break;
        case 8:
          sy = x, sx = w - 1 - y;
          break;
      }
      std::memcpy(out.at(y, x), in.at(sy, sx), size_t(c));
    }
  return out;
}

Image decode_jpeg(const uint8_t* bytes, size_t size, const std::string& name) {
  jpeg_decompress_struct cinfo;
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  err.mgr.emit_message = jpeg_quiet;
  err.message[0] = 0;
  // Plain data only between setjmp and the last libjpeg call; the Image is filled through a raw
  // pointer to storage allocated before.
  uint8_t* out = nullptr;
  size_t out_size = 0;
  int64_t h = 0, w = 0, c = 0;
  bool cmyk = false;
  int orientation = 1;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    std::free(out);
    throw Error(detail::cat("image: ", name, ": bad or truncated JPEG (", err.message, ")"));
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes, static_cast<unsigned long>(size));
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);
  jpeg_read_header(&cinfo, TRUE);
  for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next)
    if (m->marker == JPEG_APP0 + 1 && orientation == 1)
      orientation = exif_orientation(m->data, m->data_length);
  cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE
                          : cmyk                                  ? JCS_CMYK
                                                                  : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  h = cinfo.output_height;
  w = cinfo.output_width;
  c = cinfo.output_components;
  if (h * w > kMaxPixels) {
    std::snprintf(err.message, sizeof err.message, "%lldx%lld pixels is too many", (long long)w,
                  (long long)h);
    std::longjmp(err.jump, 1);
  }
  out_size = size_t(h * w * c);
  out = static_cast<uint8_t*>(std::malloc(out_size));
  if (!out) {
    std::snprintf(err.message, sizeof err.message, "out of memory");
    std::longjmp(err.jump, 1);
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out + size_t(cinfo.output_scanline) * size_t(w * c);
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);

  Image img(h, w, cmyk ? 3 : c);
  if (cmyk) {  // Adobe writes CMYK inverted: each sample is already 255 - ink
    for (int64_t i = 0; i < h * w; ++i) {
      const uint8_t* s = out + 4 * i;
      for (int k = 0; k < 3; ++k) img.pixels[size_t(3 * i + k)] = uint8_t(s[k] * s[3] / 255);
    }
  } else {
    std::memcpy(img.pixels.data(), out, out_size);
  }
  std::free(out);
  return orient(img, orientation);
}

}  // namespace

Image::Image(int64_t h, int64_t w, int64_t c, uint8_t fill)
    : height(h), width(w), channels(c), pixels(size_t(h * w * c), fill) {
  FOCUS_CHECK(h >= 0 && w >= 0 && (c == 1 || c == 2 || c == 3 || c == 4), "Image: bad size ", h,
              "x", w, "x", c);
}

Image decode_image(const uint8_t* bytes, size_t size, const std::string& name) {
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size >= 8 && std::memcmp(bytes, kPng, 8) == 0) return decode_png(bytes, size, name);
  if (size >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff)
    return decode_jpeg(bytes, size, name);
  throw Error(
      detail::cat("image: ", name, ": not a PNG or JPEG file", size == 0 ? " (empty)" : ""));
}

Image read_image(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(detail::cat("image: cannot open ", path));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return decode_image(bytes.data(), bytes.size(), path);
}

void write_png(const std::string& path, const Image& img) {
  FOCUS_CHECK(img.channels == 1 || img.channels == 3 || img.channels == 4, "write_png: ", path,
              ": ", img.channels, " channels (want 1, 3 or 4)");
  FOCUS_CHECK(img.height > 0 && img.width > 0, "write_png: ", path, ": empty image");
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = png_uint_32(img.width);
  png.height = png_uint_32(img.height);
  png.format = img.channels == 1   ? PNG_FORMAT_GRAY
               : img.channels == 3 ? PNG_FORMAT_RGB
                                   : PNG_FORMAT_RGBA;
  const std::string tmp = path + ".tmp";
  if (!png_image_write_to_file(&png, tmp.c_str(), 0, img.pixels.data(), 0, nullptr)) {
    std::remove(tmp.c_str());
    throw Error(detail::cat("write_png: cannot write ", path, " (", png.message, ")"));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw Error(detail::cat("write_png: cannot write ", path, " (", ec.message(), ")"));
}

Image to_grey(const Image& img) {
  if (img.channels == 1) return img;
  Image out(img.height, img.width, 1);
  for (int64_t i = 0; i < img.height * img.width; ++i) {
    const uint8_t* p = img.pixels.data() + i * img.channels;
    const float a = img.channels == 4 ? p[3] / 255.0f : 1.0f;
    const float y = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
    out.pixels[size_t(i)] = uint8_t(std::lround(std::clamp(y * a, 0.0f, 255.0f)));
  }
  return out;
}

Image to_rgb(const Image& img) {
  if (img.channels == 3) return img;
  Image out(img.height, img.width, 3);
  for (int64_t i = 0; i < img.height * img.width; ++i) {
    const uint8_t* p = img.pixels.data() + i * img.channels;
    for (int k = 0; k < 3; ++k) {
      const uint8_t v = img.channels == 1 ? p[0] : p[k];
      out.pixels[size_t(3 * i + k)] =
          img.channels == 4 ? uint8_t(std::lround(v * (p[3] / 255.0f))) : v;
    }
  }
  return out;
}

namespace {

// Weights of a triangle filter from `in` samples to `out` samples along one axis: for output i,
// taps [first[i], first[i] + count) with normalised weights.
struct Taps {
  std::vector<int64_t> first, count;
  std::vector<float> weights;  // [out, max_count]
  int64_t max_count = 0;
};

Taps taps(int64_t in, int64_t out) {
  const double scale = double(in) / double(out);
  const double support = std::max(1.0, scale);  // the triangle widens when shrinking
  Taps t;
  t.max_count = int64_t(std::ceil(support)) * 2 + 1;
  t.first.resize(size_t(out));
  t.count.resize(size_t(out));
  t.weights.assign(size_t(out * t.max_count), 0.0f);
  for (int64_t i = 0; i < out; ++i) {
    const double centre = (double(i) + 0.5) * scale;
    const int64_t lo = std::max<int64_t>(0, int64_t(std::floor(centre - support)));
    const int64_t hi = std::min<int64_t>(in, int64_t(std::ceil(centre + support)));
    double total = 0;
    std::vector<double> w;
    for (int64_t j = lo; j < hi; ++j) {
      const double d = std::abs((double(j) + 0.5 - centre) / support);
      w.push_back(std::max(0.0, 1.0 - d));
      total += w.back();
    }
    int64_t first = lo, n = int64_t(w.size());
    while (n > 0 && w[size_t(n - 1)] == 0.0) --n;  // trailing zero taps
    int64_t skip = 0;
    while (skip < n && w[size_t(skip)] == 0.0) ++skip;
    t.first[size_t(i)] = first + skip;
    t.count[size_t(i)] = n - skip;
    for (int64_t k = skip; k < n; ++k)
      t.weights[size_t(i * t.max_count + k - skip)] = float(w[size_t(k)] / total);
  }
  return t;
}

}  // namespace

Image resize(const Image& img, int64_t height, int64_t width) {
  FOCUS_CHECK(height > 0 && width > 0 && img.height > 0 && img.width > 0, "resize: ", img.height,
              "x", img.width, " -> ", height, "x", width, ": sizes must be positive");
  const int64_t c = img.channels;
  const Taps ty = taps(img.height, height), tx = taps(img.width, width);
  // Horizontal pass into floats [img.height, width, c], then vertical.
  std::vector<float> mid(size_t(img.height * width * c));
  for (int64_t y = 0; y < img.height; ++y)
    for (int64_t x = 0; x < width; ++x)
      for (int64_t k = 0; k < c; ++k) {
        float acc = 0;
        for (int64_t t = 0; t < tx.count[size_t(x)]; ++t)
          acc += tx.weights[size_t(x * tx.max_count + t)] *
                 img.pixels[size_t((y * img.width + tx.first[size_t(x)] + t) * c + k)];
        mid[size_t((y * width + x) * c + k)] = acc;
      }
  Image out(height, width, c);
  for (int64_t y = 0; y < height; ++y)
    for (int64_t x = 0; x < width; ++x)
      for (int64_t k = 0; k < c; ++k) {
        float acc = 0;
        for (int64_t t = 0; t < ty.count[size_t(y)]; ++t)
          acc += ty.weights[size_t(y * ty.max_count + t)] *
                 mid[size_t(((ty.first[size_t(y)] + t) * width + x) * c + k)];
        out.pixels[size_t((y * width + x) * c + k)] =
            uint8_t(std::lround(std::clamp(acc, 0.0f, 255.0f)));
      }
  return out;
}

Tensor to_tensor(const Image& img) {
  Tensor t = Tensor::empty({img.channels, img.height, img.width});
  float* o = t.data();
  const int64_t hw = img.height * img.width;
  for (int64_t i = 0; i < hw; ++i)
    for (int64_t k = 0; k < img.channels; ++k)
      o[k * hw + i] = img.pixels[size_t(i * img.channels + k)] / 255.0f;
  return t;
}

Image from_tensor(const Tensor& chw) {
  FOCUS_CHECK(chw.dim() == 3 && (chw.size(0) == 1 || chw.size(0) == 3 || chw.size(0) == 4),
              "from_tensor: want [C,H,W] with C in {1,3,4}, got ", chw.shape().str());
  const Tensor t = chw.contiguous();
  Image img(t.size(1), t.size(2), t.size(0));
  const int64_t hw = img.height * img.width;
  const float* p = t.data();
  for (int64_t i = 0; i < hw; ++i)
    for (int64_t k = 0; k < img.channels; ++k) {
      const float v = p[k * hw + i];
      img.pixels[size_t(i * img.channels + k)] =
          uint8_t(std::lround(std::clamp(std::isnan(v) ? 0.0f : v, 0.0f, 1.0f) * 255.0f));
    }
  return img;
}

}  // namespace focus
