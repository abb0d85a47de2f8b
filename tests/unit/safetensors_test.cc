#include "focus/io/safetensors.h"

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>

#include "test_util.h"

namespace focus::io {
namespace {

namespace fs = std::filesystem;

class Safetensors : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir_.file(name); }

  // A file with the given length field, header text and data bytes, for the malformed cases.
  std::string write_raw(const std::string& name, uint64_t header_len, const std::string& header,
                        const std::string& data = "") const {
    const std::string p = path(name);
    std::ofstream f(p, std::ios::binary);
    for (int i = 0; i < 8; ++i) f.put(static_cast<char>(header_len >> (8 * i)));
    f << header << data;
    return p;
  }
  std::string write_raw(const std::string& name, const std::string& header,
                        const std::string& data = "") const {
    return write_raw(name, header.size(), header, data);
  }

  static std::string floats(const std::vector<float>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  }

  test::ScratchDir dir_{"safetensors"};
};

TEST_F(Safetensors, RoundTripsRanksDtypesAndMetadata) {
  const std::map<std::string, Tensor> saved = {
      {"r0", Tensor::scalar(3.5f)},
      {"r1", Tensor::from_vector({1, -2, 3}, {3})},
      {"r2", Tensor::arange(6).reshape({2, 3})},
      {"r3", Tensor::normal({2, 3, 4}, 0, 1)},
      {"r4", Tensor::uniform({2, 1, 3, 2}, -1, 1)},
      {"ids", Tensor::from_indices({0, 7, -3, 2147483647}, {2, 2})},
      {"empty", Tensor::zeros({0, 5})},
  };
  const std::map<std::string, std::string> meta = {{"step", "12"}, {"note", "héllo \"q\""}};
  const std::string p = path("round.safetensors");
  save_safetensors(p, saved, meta);

  TensorFile f = load_safetensors(p);
  EXPECT_EQ(f.path, p);
  EXPECT_EQ(f.metadata, meta);
  ASSERT_EQ(f.tensors.size(), saved.size());
  for (const auto& [name, t] : saved) {
    const Tensor& got = f.at(name);
    EXPECT_EQ(got.dtype(), t.dtype()) << name;
    EXPECT_EQ(got.shape(), t.shape()) << name;
    EXPECT_TRUE(got.is_contiguous()) << name;
    EXPECT_EQ(got.to_vector(), t.to_vector()) << name;
  }
  EXPECT_EQ(f.at("ids").data_i32()[3], 2147483647);
}

TEST_F(Safetensors, HeaderIsPaddedToEightBytes) {
  const std::string p = path("pad.safetensors");
  for (const char* name : {"a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh"}) {
    save_safetensors(p, {{name, Tensor::ones({1})}});
    std::ifstream f(p, std::ios::binary);
    uint8_t len[8];
    f.read(reinterpret_cast<char*>(len), 8);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | len[i];
    EXPECT_EQ(n % 8, 0u) << name;
    EXPECT_EQ(fs::file_size(p), 8 + n + 4) << name;
  }
}

TEST_F(Safetensors, SavesNonContiguousViewsAsContiguous) {
  // [2,3,4] -> permuted [4,2,3], a strided slice and a broadcast: all stored row-major.
  Tensor x = Tensor::arange(24).reshape({2, 3, 4});
  Tensor p = x.permute({2, 0, 1});
  Tensor s = x.slice(2, 0, 4, 2);
  Tensor e = Tensor::from_vector({1, 2, 3}, {3}).expand({2, 3});
  ASSERT_FALSE(p.is_contiguous());
  const std::string file = path("views.safetensors");
  save_safetensors(file, {{"p", p}, {"s", s}, {"e", e}});
  TensorFile f = load_safetensors(file);
  EXPECT_EQ(f.at("p").shape(), Shape({4, 2, 3}));
  EXPECT_EQ(f.at("p").to_vector(), p.to_vector());
  EXPECT_EQ(f.at("s").to_vector(), s.to_vector());
  EXPECT_EQ(f.at("e").to_vector(), std::vector<float>({1, 2, 3, 1, 2, 3}));
}

TEST_F(Safetensors, MissingTensorNamesFileAndKey) {
  const std::string p = path("keys.safetensors");
  save_safetensors(p, {{"w", Tensor::ones({2})}});
  TensorFile f = load_safetensors(p);
  test::expect_error([&] { f.at("bias"); }, {"safetensors: ", p, "no tensor named \"bias\"", "w"});
}

TEST_F(Safetensors, MissingFile) {
  const std::string p = path("nope.safetensors");
  test::expect_error([&] { load_safetensors(p); }, {"safetensors: " + p + ": cannot open"});
}

TEST_F(Safetensors, ShorterThanLengthField) {
  const std::string p = path("short.safetensors");
  std::ofstream(p, std::ios::binary) << "abc";
  test::expect_error([&] { load_safetensors(p); }, {p, "truncated: 3 bytes"});
}

TEST_F(Safetensors, AbsurdHeaderLength) {
  const std::string p = write_raw("absurd.safetensors", 1ull << 40, "{}");
  test::expect_error([&] { load_safetensors(p); }, {p, "header length 1099511627776 is absurd"});
}

TEST_F(Safetensors, HeaderPastEndOfFile) {
  const std::string p = write_raw("hdr_eof.safetensors", 1000, "{\"a\": 1}");
  test::expect_error([&] { load_safetensors(p); },
                     {p, "truncated: header length says 1000 bytes, file has 8"});
}

TEST_F(Safetensors, InvalidJson) {
  const std::string p = write_raw("json.safetensors", "{\"a\": {\"dtype\": \"F32\",\n");
  test::expect_error([&] { load_safetensors(p); }, {p, "header is not valid JSON"});
}

TEST_F(Safetensors, HeaderNotAnObject) {
  const std::string p = write_raw("array.safetensors", "[1, 2]  ");
  test::expect_error([&] { load_safetensors(p); }, {p, "header is array, expected an object"});
}

TEST_F(Safetensors, EntryMissingFields) {
  const std::string data = floats({1, 2});
  const std::string a =
      write_raw("nodtype.safetensors", R"({"w": {"shape": [2], "data_offsets": [0, 8]}})", data);
  test::expect_error([&] { load_safetensors(a); }, {a, "tensor \"w\": missing \"dtype\""});
  const std::string b =
      write_raw("noshape.safetensors", R"({"w": {"dtype": "F32", "data_offsets": [0, 8]}})", data);
  test::expect_error([&] { load_safetensors(b); }, {b, "tensor \"w\": missing \"shape\""});
  const std::string c =
      write_raw("nooffsets.safetensors", R"({"w": {"dtype": "F32", "shape": [2]}})", data);
  test::expect_error([&] { load_safetensors(c); }, {c, "tensor \"w\": missing \"data_offsets\""});
  const std::string d = write_raw("notobj.safetensors", R"({"w": 3})", data);
  test::expect_error([&] { load_safetensors(d); }, {d, "tensor \"w\": entry is number"});
}

TEST_F(Safetensors, MalformedFieldValues) {
  const std::string data = floats({1, 2});
  const std::string a =
      write_raw("negdim.safetensors",
                R"({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", data);
  test::expect_error([&] { load_safetensors(a); }, {a, "tensor \"w\": bad extent -2"});
  const std::string b = write_raw(
      "offs.safetensors", R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8]}})", data);
  test::expect_error([&] { load_safetensors(b); }, {b, "tensor \"w\": \"data_offsets\" is [8]"});
  const std::string c = write_raw(
      "rank.safetensors",
      R"({"w": {"dtype": "F32", "shape": [1,1,1,1,1,1,2], "data_offsets": [0, 8]}})", data);
  test::expect_error([&] { load_safetensors(c); }, {c, "rank 7 exceeds the maximum rank 6"});
  const std::string d = write_raw(
      "meta.safetensors",
      R"({"__metadata__": {"step": 3}, "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})",
      data);
  test::expect_error([&] { load_safetensors(d); }, {d, "metadata \"step\" is number"});
}

TEST_F(Safetensors, UnknownDtype) {
  const std::string p = write_raw(
      "f64.safetensors", R"({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}})",
      std::string(8, '\0'));
  test::expect_error([&] { load_safetensors(p); },
                     {p, "tensor \"w\": unsupported dtype \"F64\" (Focus reads F32 and I32)"});
}

TEST_F(Safetensors, ShapeDisagreesWithOffsets) {
  const std::string p =
      write_raw("mismatch.safetensors",
                R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}})",
                std::string(24, '\0'));
  test::expect_error(
      [&] { load_safetensors(p); },
      {p, "tensor \"w\": shape [2,3] F32 needs 24 bytes but data_offsets [0, 20] span 20"});
}

TEST_F(Safetensors, OffsetsPastTheData) {
  const std::string p =
      write_raw("trunc.safetensors",
                R"({"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
          "b": {"dtype": "I32", "shape": [6], "data_offsets": [24, 48]}})",
                std::string(24, '\0'));
  test::expect_error(
      [&] { load_safetensors(p); },
      {"safetensors: " + p + ": truncated: header says 48 bytes of data, file has 24"});
}

TEST_F(Safetensors, NonFiniteDataIsAnErrorUnlessAllowed) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::string p = write_raw(
      "nan.safetensors", R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}})",
      floats({1, nan, 2}));
  test::expect_error([&] { load_safetensors(p); },
                     {p, "tensor \"w\" [3] has non-finite value nan at element 1"});
  TensorFile f = load_safetensors(p, /*allow_nonfinite=*/true);
  EXPECT_TRUE(std::isnan(f.at("w").to_vector()[1]));

  const std::string q = path("inf.safetensors");
  save_safetensors(q, {{"x", Tensor::from_vector({0, -inf}, {2})}});
  test::expect_error([&] { load_safetensors(q); }, {q, "non-finite value -inf at element 1"});
}

TEST_F(Safetensors, FailedSaveLeavesThePreviousFileIntact) {
  const std::string p = path("ckpt.safetensors");
  save_safetensors(p, {{"w", Tensor::from_vector({1, 2, 3}, {3})}}, {{"step", "1"}});
  const auto before = fs::file_size(p);

  // The temporary file cannot be created: a directory already holds its name.
  const std::string tmp = p + ".tmp." + std::to_string(getpid());
  fs::create_directory(tmp);
  test::expect_error(
      [&] {
        save_safetensors(p, {{"w", Tensor::zeros({1000})}});
      },
      {"safetensors: " + p + ": cannot create temporary file", "unchanged"});
  fs::remove(tmp);

  // A tensor that cannot be saved is refused before anything is written.
  test::expect_error(
      [&] {
        save_safetensors(p, {{"a", Tensor::zeros({4})}, {"b", make_tensor({2}, DType::bf16)}});
      },
      {p, "tensor \"b\" [2] has dtype"});

  EXPECT_EQ(fs::file_size(p), before);
  TensorFile f = load_safetensors(p);
  EXPECT_EQ(f.at("w").to_vector(), std::vector<float>({1, 2, 3}));
  EXPECT_EQ(f.metadata.at("step"), "1");
  for (const auto& e : fs::directory_iterator(dir_.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
}

TEST_F(Safetensors, SaveIntoMissingDirectoryFails) {
  const std::string p = path("no/such/dir/x.safetensors");
  test::expect_error(
      [&] {
        save_safetensors(p, {{"w", Tensor::ones({2})}});
      },
      {"safetensors: " + p + ": cannot create temporary file", "No such file"});
  EXPECT_FALSE(fs::exists(p));
}

TEST_F(Safetensors, ReservedAndEmptyNames) {
  const std::string p = path("names.safetensors");
  test::expect_error(
      [&] {
        save_safetensors(p, {{"__metadata__", Tensor::ones({1})}});
      },
      {p, "reserved"});
  test::expect_error([&] { save_safetensors(p, {{"", Tensor::ones({1})}}); }, {p, "empty name"});
  test::expect_error(
      [&] {
        save_safetensors(p, {{"u", Tensor()}});
      },
      {p, "undefined tensor \"u\""});
  EXPECT_FALSE(fs::exists(p));
}

}  // namespace
}  // namespace focus::io
