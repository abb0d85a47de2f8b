// IDX decoding (big-endian header, then the elements) and gunzipping through zlib's inflate on
// the whole file, so a truncated stream is told apart from a complete one.
#include "focus/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "focus/error.h"

namespace focus::data {

namespace {

constexpr int64_t kMaxElements = int64_t(1) << 36;

bool is_gzip(const std::vector<uint8_t>& b) {
  return b.size() >= 2 && b[0] == 0x1f && b[1] == 0x8b;
}

std::vector<uint8_t> gunzip(const std::vector<uint8_t>& in, const std::string& name) {
  z_stream z;
  std::memset(&z, 0, sizeof z);
  FOCUS_CHECK(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK, "idx: ", name, ": cannot start zlib");
  std::vector<uint8_t> out;
  // gzip's trailer holds the size modulo 2^32: a good first guess for the buffer, when it is
  // plausible (deflate expands at most 1032:1; a cut file's last bytes are no trailer).
  if (in.size() >= 18) {
    const uint8_t* t = in.data() + in.size() - 4;
    const size_t hint = size_t(t[0]) | size_t(t[1]) << 8 | size_t(t[2]) << 16 | size_t(t[3]) << 24;
    if (hint <= in.size() * 1032) out.reserve(hint);
  }
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = uInt(std::min<size_t>(in.size(), 1u << 30));
  size_t fed = z.avail_in;
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (out.size() == out.capacity()) out.reserve(std::max<size_t>(out.capacity() * 2, 1 << 16));
    const size_t have = out.size();
    out.resize(out.capacity());
    z.next_out = out.data() + have;
    z.avail_out = uInt(std::min<size_t>(out.size() - have, 1u << 30));
    const size_t room = z.avail_out;
    rc = inflate(&z, Z_NO_FLUSH);
    out.resize(have + (room - z.avail_out));
    if (rc == Z_OK && z.avail_in == 0 && fed < in.size()) {
      const size_t more = std::min<size_t>(in.size() - fed, 1u << 30);
      z.next_in = const_cast<Bytef*>(in.data() + fed);
      z.avail_in = uInt(more);
      fed += more;
    } else if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
      rc = Z_BUF_ERROR;  // all input used, no end of stream
    }
  }
  const std::string msg = z.msg ? z.msg : "";
  inflateEnd(&z);
  if (rc == Z_BUF_ERROR)
    throw Error(detail::cat("idx: ", name, ": truncated gzip data (the stream ends after ",
                            out.size(), " bytes without its end marker)"));
  if (rc != Z_STREAM_END)
    throw Error(
        detail::cat("idx: ", name, ": corrupt gzip data (", msg.empty() ? "zlib error" : msg, ")"));
  return out;
}

std::string dims_str(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

}  // namespace

const char* idx_type_name(IdxType t) {
  switch (t) {
    case IdxType::u8:
      return "u8";
    case IdxType::i8:
      return "i8";
    case IdxType::i16:
      return "i16";
    case IdxType::i32:
      return "i32";
    case IdxType::f32:
      return "f32";
    case IdxType::f64:
      return "f64";
  }
  return "?";
}

size_t idx_type_size(IdxType t) {
  switch (t) {
    case IdxType::u8:
    case IdxType::i8:
      return 1;
    case IdxType::i16:
      return 2;
    case IdxType::i32:
    case IdxType::f32:
      return 4;
    case IdxType::f64:
      return 8;
  }
  return 0;
}

int64_t IdxArray::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

std::vector<uint8_t> read_maybe_gzip(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(detail::cat("idx: cannot open ", path));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw Error(detail::cat("idx: cannot read ", path));
  return is_gzip(bytes) ? gunzip(bytes, path) : bytes;
}

IdxArray decode_idx(const std::vector<uint8_t>& b, const std::string& name) {
  if (b.size() < 4)
    throw Error(detail::cat("idx: ", name, ": ", b.size(),
                            " bytes is too short for an IDX header (4-byte magic number)"));
  char magic[16];
  std::snprintf(magic, sizeof magic, "0x%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
  const uint8_t type = b[2], rank = b[3];
  const bool known =
      type == 0x08 || type == 0x09 || type == 0x0B || type == 0x0C || type == 0x0D || type == 0x0E;
  if (b[0] != 0 || b[1] != 0 || !known || rank == 0)
    throw Error(detail::cat("idx: ", name, ": bad magic number ", magic,
                            " (want 0x0000TTDD: TT a type 08/09/0b/0c/0d/0e, DD >= 1 dims)",
                            is_gzip(b) ? "; the data is gzip'd twice?" : ""));
  IdxArray a;
  a.type = IdxType(type);
  const size_t header = 4 + 4 * size_t(rank);
  if (b.size() < header)
    throw Error(detail::cat("idx: ", name, ": truncated header: ", int(rank), " dims need ", header,
                            " bytes, the file holds ", b.size()));
  int64_t numel = 1;
  for (size_t i = 0; i < rank; ++i) {
    const uint8_t* p = b.data() + 4 + 4 * i;
    const int64_t d = int64_t(p[0]) << 24 | int64_t(p[1]) << 16 | int64_t(p[2]) << 8 | p[3];
    a.dims.push_back(d);
    if (d == 0)
      throw Error(detail::cat("idx: ", name, ": dimension ", i, " is 0 in the header's ",
                              dims_str(a.dims)));
    numel *= d;
    if (numel > kMaxElements)
      throw Error(
          detail::cat("idx: ", name, ": the header's dimensions give more than 2^36 elements"));
  }
  const size_t esize = idx_type_size(a.type), want = size_t(numel) * esize,
               have = b.size() - header;
  if (have < want)
    throw Error(detail::cat("idx: ", name, ": truncated: the header promises ", want, " bytes of ",
                            idx_type_name(a.type), " data ", dims_str(a.dims), ", the file holds ",
                            have));
  if (have > want)
    throw Error(detail::cat("idx: ", name, ": ", have - want, " bytes after the ", want,
                            " bytes of ", idx_type_name(a.type), " data ", dims_str(a.dims),
                            " (wrong sizes in the header?)"));
  a.bytes.assign(b.begin() + std::ptrdiff_t(header), b.end());
  if (esize > 1)  // big-endian in the file; Focus runs little-endian (io/safetensors.cc)
    for (size_t i = 0; i < a.bytes.size(); i += esize)
      std::reverse(&a.bytes[i], &a.bytes[i] + esize);
  return a;
}

IdxArray read_idx(const std::string& path) { return decode_idx(read_maybe_gzip(path), path); }

}  // namespace focus::data
