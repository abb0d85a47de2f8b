// safetensors reader and atomic writer. The reader trusts nothing in the file: every length and
// offset is checked against the real file size before a byte is read, so a truncated or hostile
// file gives a one-line Error instead of a crash or a huge allocation.
#include "focus/io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "focus/autograd.h"

namespace focus::io {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian data; Focus reads it in place");

namespace {

using json = nlohmann::json;

// The header of real checkpoints is a few hundred kB at most; anything beyond this is a corrupt
// length field, and refusing it avoids allocating whatever the file claims.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

// One line, whatever the file or its names contain.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

template <typename... Args>
[[noreturn]] void fail(const std::string& path, const Args&... args) {
  throw Error(one_line(detail::cat("safetensors: ", path, ": ", args...)));
}

// A tensor name as JSON writes it: quoted, with control characters escaped.
std::string quoted(const std::string& name) {
  return json(name).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string errno_text() { return std::strerror(errno); }

struct File {
  std::FILE* f = nullptr;
  ~File() {
    if (f) std::fclose(f);
  }
};

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

Entry parse_entry(const std::string& path, const std::string& name, const json& v) {
  const std::string q = quoted(name);
  if (!v.is_object())
    fail(path, "tensor ", q, ": entry is ", v.type_name(), ", expected an object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!v.contains(key)) fail(path, "tensor ", q, ": missing \"", key, "\"");

  const json& jd = v["dtype"];
  if (!jd.is_string())
    fail(path, "tensor ", q, ": \"dtype\" is ", jd.type_name(), ", not a string");
  const std::string ds = jd.get<std::string>();
  Entry e{name, DType::f32, {}, 0, 0};
  if (ds == "F32")
    e.dtype = DType::f32;
  else if (ds == "I32")
    e.dtype = DType::i32;
  else
    fail(path, "tensor ", q, ": unsupported dtype ", quoted(ds), " (Focus reads F32 and I32)");

  const json& js = v["shape"];
  if (!js.is_array()) fail(path, "tensor ", q, ": \"shape\" is ", js.type_name(), ", not an array");
  if (js.size() > static_cast<size_t>(kMaxRank))
    fail(path, "tensor ", q, ": rank ", js.size(), " exceeds the maximum rank ", kMaxRank);
  // Extents are bounded by the data size later; this bound only keeps the product from overflowing.
  uint64_t numel = 1;
  for (const json& d : js) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > (1ull << 40))
      fail(path, "tensor ", q, ": bad extent ", d.dump(), " in shape ", js.dump());
    e.shape.push_back(static_cast<int64_t>(d.get<uint64_t>()));
    numel = numel > (1ull << 60) / std::max<uint64_t>(d.get<uint64_t>(), 1)
                ? (1ull << 60)
                : numel * d.get<uint64_t>();
  }

  const json& jo = v["data_offsets"];
  if (!jo.is_array() || jo.size() != 2 || !jo[0].is_number_unsigned() ||
      !jo[1].is_number_unsigned())
    fail(path, "tensor ", q, ": \"data_offsets\" is ", jo.dump(),
         ", expected [begin, end] with non-negative integers");
  e.begin = jo[0].get<uint64_t>();
  e.end = jo[1].get<uint64_t>();
  if (e.end < e.begin)
    fail(path, "tensor ", q, ": data_offsets [", e.begin, ", ", e.end, "] end before begin");
  const uint64_t want = numel * dtype_size(e.dtype);
  if (e.end - e.begin != want)
    fail(path, "tensor ", q, ": shape ", e.shape, " ", ds, " needs ", want,
         " bytes but data_offsets [", e.begin, ", ", e.end, "] span ", e.end - e.begin);
  return e;
}

void check_finite(const std::string& path, const Entry& e, const Tensor& t) {
  const float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(p[i]))
      fail(path, "tensor ", quoted(e.name), " ", e.shape, " has non-finite value ", p[i],
           " at element ", i, " (load with allow_nonfinite to accept it)");
}

std::string dir_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

const Tensor& TensorFile::at(const std::string& name) const {
  auto it = tensors.find(name);
  if (it != tensors.end()) return it->second;
  std::string names;
  int listed = 0;
  for (const auto& [k, v] : tensors) {
    if (listed++ == 12) {
      names += ", ...";
      break;
    }
    names += (names.empty() ? "" : ", ") + k;
  }
  fail(path, "no tensor named ", quoted(name), " (the file has ", tensors.size(), ": ", names, ")");
}

TensorFile load_safetensors(const std::string& path, bool allow_nonfinite) {
  File file;
  file.f = std::fopen(path.c_str(), "rb");
  if (!file.f) fail(path, "cannot open: ", errno_text());
  struct stat st;
  if (fstat(fileno(file.f), &st) != 0) fail(path, "cannot stat: ", errno_text());
  if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
  const uint64_t size = static_cast<uint64_t>(st.st_size);

  if (size < 8) fail(path, "truncated: ", size, " bytes, shorter than the 8-byte header length");
  uint8_t len_bytes[8];
  if (std::fread(len_bytes, 1, 8, file.f) != 8) fail(path, "cannot read: ", errno_text());
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > kMaxHeaderBytes)
    fail(path, "header length ", header_len, " is absurd (limit ", kMaxHeaderBytes,
         "); not a safetensors file?");
  if (header_len > size - 8)
    fail(path, "truncated: header length says ", header_len, " bytes, file has ", size - 8,
         " after the length field");

  std::string text(header_len, '\0');
  if (header_len && std::fread(text.data(), 1, header_len, file.f) != header_len)
    fail(path, "cannot read header: ", errno_text());
  json header;
  try {
    header = json::parse(text);
  } catch (const json::exception& ex) {
    fail(path, "header is not valid JSON: ", ex.what());
  }
  if (!header.is_object()) fail(path, "header is ", header.type_name(), ", expected an object");

  TensorFile out;
  out.path = path;
  std::vector<Entry> entries;
  for (const auto& [name, v] : header.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) fail(path, "\"__metadata__\" is ", v.type_name(), ", expected an object");
      for (const auto& [k, s] : v.items()) {
        if (!s.is_string())
          fail(path, "metadata ", quoted(k), " is ", s.type_name(), ", expected a string");
        out.metadata[k] = s.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(path, name, v));
  }

  const uint64_t data_len = size - 8 - header_len;
  uint64_t data_needed = 0;
  for (const Entry& e : entries) data_needed = std::max(data_needed, e.end);
  if (data_needed > data_len)
    fail(path, "truncated: header says ", data_needed, " bytes of data, file has ", data_len);

  const long data_start = static_cast<long>(8 + header_len);
  for (const Entry& e : entries) {
    Tensor t = make_tensor(e.shape, e.dtype);
    const uint64_t n = e.end - e.begin;
    if (n) {
      if (std::fseek(file.f, data_start + static_cast<long>(e.begin), SEEK_SET) != 0 ||
          std::fread(t.impl().storage->data(), 1, n, file.f) != n)
        fail(path, "cannot read tensor ", quoted(e.name), ": ", errno_text());
    }
    if (e.dtype == DType::f32 && !allow_nonfinite) check_finite(path, e, t);
    out.tensors.emplace(e.name, std::move(t));
  }
  return out;
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  // Check and lay out everything before touching the disk, so a bad tensor leaves no temp file.
  std::vector<Tensor> data;  // contiguous, in header order
  json header = json::object();
  uint64_t offset = 0;
  {
    autograd::NoGradGuard no_grad;
    for (const auto& [name, t] : tensors) {
      if (name.empty()) fail(path, "cannot save a tensor with an empty name");
      if (name == "__metadata__") fail(path, "\"__metadata__\" is reserved, not a tensor name");
      if (!t.defined()) fail(path, "cannot save undefined tensor ", quoted(name));
      if (t.device() != Device::cpu) fail(path, "tensor ", quoted(name), " is not on the CPU");
      const char* ds = t.dtype() == DType::f32 ? "F32" : t.dtype() == DType::i32 ? "I32" : nullptr;
      if (!ds)
        fail(path, "tensor ", quoted(name), " ", t.shape(), " has dtype ", dtype_name(t.dtype()),
             "; Focus saves f32 and i32");
      Tensor c = t.detach().contiguous();
      const uint64_t n = static_cast<uint64_t>(c.numel()) * dtype_size(c.dtype());
      header[name] = {
          {"dtype", ds}, {"shape", c.shape().vec()}, {"data_offsets", {offset, offset + n}}};
      offset += n;
      data.push_back(std::move(c));
    }
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text = header.dump(-1, ' ', false, json::error_handler_t::replace);
  // Padding keeps the data buffer 8-byte aligned, as the reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');
  uint8_t len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<uint8_t>(text.size() >> (8 * i));

  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    fail(path, "cannot create temporary file ", tmp, ": ", errno_text(),
         " (the previous file, if any, is unchanged)");
  auto abandon = [&](const std::string& what) {
    const std::string why = errno_text();
    if (f) std::fclose(f);
    std::remove(tmp.c_str());
    fail(path, what, ": ", why, " (the previous file, if any, is unchanged)");
  };
  if (std::fwrite(len_bytes, 1, 8, f) != 8 ||
      std::fwrite(text.data(), 1, text.size(), f) != text.size())
    abandon("cannot write header to " + tmp);
  for (size_t i = 0; i < data.size(); ++i) {
    const Tensor& c = data[i];
    const size_t n = static_cast<size_t>(c.numel()) * dtype_size(c.dtype());
    const void* p = c.dtype() == DType::i32 ? static_cast<const void*>(c.data_i32())
                                            : static_cast<const void*>(c.data());
    if (n && std::fwrite(p, 1, n, f) != n) abandon("cannot write data to " + tmp);
  }
  if (std::fflush(f) != 0) abandon("cannot flush " + tmp);
  if (fsync(fileno(f)) != 0) abandon("cannot fsync " + tmp);
  const int closed = std::fclose(f);
  f = nullptr;
  if (closed != 0) abandon("cannot close " + tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) abandon("cannot rename " + tmp + " over it");

  // The rename is durable only once the directory entry is on disk.
  const std::string dir = dir_of(path);
  const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd < 0) fail(path, "saved, but cannot open directory ", dir, " to fsync it: ", errno_text());
  // Some filesystems cannot fsync a directory (EINVAL); the file itself is complete either way.
  if (fsync(dfd) != 0 && errno != EINVAL) {
    const std::string why = errno_text();
    close(dfd);
    fail(path, "saved, but cannot fsync directory ", dir, ": ", why);
  }
  close(dfd);
}

}  // namespace focus::io
