#include <signal.h>
#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

#include "focus/io/safetensors.h"
#include "focus/nn.h"
#include "focus/optim.h"
#include "focus/train.h"
#include "test_util.h"

namespace focus::train {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::expect_error;

class CheckpointTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir_.file(name); }

  // Names of the entries in the test's directory: a failed save must leave no temporary file.
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_.path())) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }

  static std::string read_bytes(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  static void write_bytes(const std::string& p, const std::string& bytes) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f << bytes;
  }

  // A small model, Adam-like optimiser state and a nested training state.
  static Checkpoint sample() {
    Checkpoint c;
    c.model["embed.weight"] = test::random_tensor({5, 3}, 1);
    c.model["blocks.0.attn.qkv.bias"] = test::random_tensor({9}, 2);
    c.model["head.scale"] = Tensor::scalar(0.125f);
    c.model["vocab.ids"] = Tensor::from_indices({3, 1, 4, 1, 5, 9}, {2, 3});
    c.optimizer["embed.weight.exp_avg"] = test::random_tensor({5, 3}, 3);
    c.optimizer["embed.weight.exp_avg_sq"] = test::random_tensor({5, 3}, 4, 0.0f, 1.0f);
    c.optimizer["embed.weight.step"] = Tensor::from_indices({7}, {});
    c.optimizer["step"] = Tensor::from_indices({7}, {});
    c.optimizer["lr"] = Tensor::scalar(3e-3f);
    c.state = {
        {"step", 1234},
        {"epoch", 3},
        {"best", {{"metric", "accuracy"}, {"value", 0.8765432109876543}}},
        {"config",
         {{"model", {{"kind", "vit"}, {"dim", 128}, {"heads", {4, 4, 8}}, {"dropout", 0.1}}},
          {"data", {{"name", "fashion-mnist"}, {"augment", true}, {"root", nullptr}}}}},
        {"rng", {{"state", 18446744073709551615ull}, {"inc", 12345678901234567ull}}},
        {"schedule", {{"kind", "warmup_cosine"}, {"base", 3e-3}, {"warmup", 500}}},
        {"history", json::array({2.302585, 1.5, 0.75})},
        {"note", "h\u00e9llo \"quoted\"\nnew line"},
    };
    return c;
  }

  static void expect_same(const std::map<std::string, Tensor>& got,
                          const std::map<std::string, Tensor>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [name, t] : want) {
      auto it = got.find(name);
      ASSERT_NE(it, got.end()) << name;
      EXPECT_EQ(it->second.dtype(), t.dtype()) << name;
      EXPECT_EQ(it->second.shape(), t.shape()) << name;
      EXPECT_EQ(it->second.to_vector(), t.to_vector()) << name;
    }
  }
  static void expect_same(const Checkpoint& got, const Checkpoint& want) {
    expect_same(got.model, want.model);
    expect_same(got.optimizer, want.optimizer);
    EXPECT_EQ(got.state, want.state) << got.state.dump() << "\nvs\n" << want.state.dump();
  }

  test::ScratchDir dir_{"ckpt"};
};

TEST_F(CheckpointTest, RoundTripsModelOptimizerAndNestedState) {
  const Checkpoint saved = sample();
  const std::string p = path("last.safetensors");
  save_checkpoint(p, saved);
  const Checkpoint got = load_checkpoint(p);
  expect_same(got, saved);
  EXPECT_EQ(got.state["rng"]["state"].get<uint64_t>(), 18446744073709551615ull);
  EXPECT_EQ(got.state["best"]["value"].get<double>(), 0.8765432109876543);
  EXPECT_EQ(listing(), std::vector<std::string>{"last.safetensors"});
}

TEST_F(CheckpointTest, SavesViewsAsTheirLogicalValues) {
  Checkpoint c;
  const Tensor base = Tensor::arange(12).reshape({3, 4});
  c.model["t"] = base.transpose(0, 1);       // non-contiguous [4, 3]
  c.model["s"] = base.slice(1, 1, 4, 2);     // [3, 2], strided
  c.optimizer["e"] = Tensor::zeros({0, 4});  // empty
  save_checkpoint(path("v.safetensors"), c);
  const Checkpoint got = load_checkpoint(path("v.safetensors"));
  expect_same(got, c);
  EXPECT_TRUE(got.state.is_object() && got.state.empty());
}

TEST_F(CheckpointTest, OverwritesThePreviousCheckpoint) {
  const std::string p = path("last.safetensors");
  Checkpoint a = sample();
  save_checkpoint(p, a);
  Checkpoint b;
  b.model["w"] = Tensor::from_vector({1, 2}, {2});
  b.state = {{"step", 2}};
  save_checkpoint(p, b);
  expect_same(load_checkpoint(p), b);
  EXPECT_EQ(listing(), std::vector<std::string>{"last.safetensors"});
}

TEST_F(CheckpointTest, IsAPlainSafetensorsFile) {
  const Checkpoint saved = sample();
  const std::string p = path("plain.safetensors");
  save_checkpoint(p, saved);
  const io::TensorFile f = io::load_safetensors(p);
  EXPECT_EQ(f.tensors.size(), saved.model.size() + saved.optimizer.size());
  for (const auto& [name, t] : saved.model) EXPECT_EQ(f.at(name).to_vector(), t.to_vector());
  for (const auto& [name, t] : saved.optimizer)
    EXPECT_EQ(f.at("optimizer/" + name).to_vector(), t.to_vector());
  ASSERT_EQ(f.metadata.size(), 2u);
  EXPECT_EQ(f.metadata.at("format"), "focus-checkpoint-1");
  EXPECT_EQ(json::parse(f.metadata.at("focus")), saved.state);

  // The raw header, as another reader sees it: little-endian length, JSON, 8-byte aligned data.
  const std::string bytes = read_bytes(p);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  EXPECT_EQ(n % 8, 0u);
  const json header = json::parse(bytes.substr(8, n));
  EXPECT_EQ(header["embed.weight"]["dtype"], "F32");
  EXPECT_EQ(header["embed.weight"]["shape"], json::array({5, 3}));
  EXPECT_EQ(header["optimizer/step"]["dtype"], "I32");
  EXPECT_EQ(header["__metadata__"]["format"], "focus-checkpoint-1");
}

// ---- bad files: one line naming the path --------------------------------------------------------

TEST_F(CheckpointTest, MissingFileIsAnError) {
  const std::string p = path("nope.safetensors");
  expect_error([&] { load_checkpoint(p); }, {p, "cannot open"});
}

TEST_F(CheckpointTest, TruncatedFileIsAnErrorAtEveryCut) {
  const std::string good = path("good.safetensors");
  save_checkpoint(good, sample());
  const std::string bytes = read_bytes(good);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(bytes[i]);
  const size_t data = 8 + header_len;
  ASSERT_GT(bytes.size(), data + 8);
  const std::string p = path("cut.safetensors");
  for (size_t cut : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{40}, data / 2,
                     data - 1, data, data + 1, (data + bytes.size()) / 2, bytes.size() - 1}) {
    SCOPED_TRACE("cut at " + std::to_string(cut) + " of " + std::to_string(bytes.size()));
    write_bytes(p, bytes.substr(0, cut));
    expect_error([&] { load_checkpoint(p); }, {p, "truncated"});
  }
}

TEST_F(CheckpointTest, GarbageIsAnError) {
  const std::string p = path("garbage.safetensors");
  std::string junk(4096, '\0');
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (char& c : junk) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x);
  }
  write_bytes(p, junk);
  expect_error([&] { load_checkpoint(p); }, {p});

  // Text, as when a log or a config is passed by mistake.
  write_bytes(p, "{\"step\": 1, \"loss\": 0.5}\n{\"step\": 2, \"loss\": 0.4}\n");
  expect_error([&] { load_checkpoint(p); }, {p});

  // A plausible length field over a header that is not JSON (the wrong magic).
  std::string bad(8, '\0');
  bad[0] = 16;
  write_bytes(p, bad + "PK\x03\x04 not json at all");
  expect_error([&] { load_checkpoint(p); }, {p, "not valid JSON"});

  // A directory where the file should be.
  fs::create_directories(path("dir.safetensors"));
  expect_error([&] { load_checkpoint(path("dir.safetensors")); },
               {path("dir.safetensors"), "not a regular file"});
}

TEST_F(CheckpointTest, PlainSafetensorsIsNotACheckpoint) {
  const std::string p = path("weights.safetensors");
  io::save_safetensors(p, {{"w", Tensor::ones({2})}});
  expect_error([&] { load_checkpoint(p); }, {p, "not a Focus checkpoint"});

  io::save_safetensors(p, {{"w", Tensor::ones({2})}}, {{"format", "pt"}});
  expect_error([&] { load_checkpoint(p); }, {p, "not a Focus checkpoint", "\"pt\""});

  io::save_safetensors(p, {{"w", Tensor::ones({2})}}, {{"format", "focus-checkpoint-1"}});
  expect_error([&] { load_checkpoint(p); }, {p, "no \"focus\" state"});

  io::save_safetensors(p, {{"w", Tensor::ones({2})}},
                       {{"format", "focus-checkpoint-1"}, {"focus", "{\"step\": 3,"}});
  expect_error([&] { load_checkpoint(p); }, {p, "not valid JSON"});
}

TEST_F(CheckpointTest, NaNWeightsAreAnError) {
  const std::string p = path("nan.safetensors");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  io::save_safetensors(p, {{"w", Tensor::from_vector({1, nan, 3}, {3})}},
                       {{"format", "focus-checkpoint-1"}, {"focus", "{}"}});
  expect_error([&] { load_checkpoint(p); }, {p, "\"w\"", "non-finite", "element 1"});
  const float inf = std::numeric_limits<float>::infinity();
  io::save_safetensors(p, {{"optimizer/m", Tensor::from_vector({inf}, {1})}},
                       {{"format", "focus-checkpoint-1"}, {"focus", "{}"}});
  expect_error([&] { load_checkpoint(p); }, {p, "optimizer/m", "non-finite"});
}

// ---- failed saves: an error naming the path; the previous checkpoint intact ---------------------

TEST_F(CheckpointTest, RefusedSavesLeaveThePreviousCheckpoint) {
  const std::string p = path("last.safetensors");
  const Checkpoint good = sample();
  save_checkpoint(p, good);
  const std::string before = read_bytes(p);
  const float nan = std::numeric_limits<float>::quiet_NaN();

  Checkpoint c = sample();
  c.model["optimizer/step"] = Tensor::ones({1});
  expect_error([&] { save_checkpoint(p, c); }, {p, "\"optimizer/step\"", "collides"});

  c = sample();
  c.model["blocks.0.attn.qkv.bias"].data()[4] = nan;
  expect_error([&] { save_checkpoint(p, c); },
               {p, "blocks.0.attn.qkv.bias", "non-finite", "element 4"});

  c = sample();
  c.optimizer["embed.weight.exp_avg"] = Tensor::full({2}, std::numeric_limits<float>::infinity());
  expect_error([&] { save_checkpoint(p, c); }, {p, "optimizer/embed.weight.exp_avg"});

  c = sample();
  c.state["history"][1] = std::nan("");
  expect_error([&] { save_checkpoint(p, c); }, {p, "non-finite", "/history/1"});

  c = sample();
  c.model["half"] = make_tensor({2}, DType::bf16);
  expect_error([&] { save_checkpoint(p, c); }, {p, "\"half\"", "bf16"});

  c = sample();
  c.model["undefined"] = Tensor();
  expect_error([&] { save_checkpoint(p, c); }, {p, "\"undefined\""});

  c = sample();
  c.state["bytes"] = std::string("\xff\xfe");  // not UTF-8
  expect_error([&] { save_checkpoint(p, c); }, {p, "state"});

  EXPECT_EQ(read_bytes(p), before);
  expect_same(load_checkpoint(p), good);
  EXPECT_EQ(listing(), std::vector<std::string>{"last.safetensors"});
}

// A write that fails halfway (the file-size limit stands in for a full disk).
TEST_F(CheckpointTest, WriteFailureLeavesThePreviousCheckpoint) {
  const std::string p = path("last.safetensors");
  const Checkpoint good = sample();
  save_checkpoint(p, good);
  const std::string before = read_bytes(p);
  ASSERT_LT(before.size(), 64u << 10);

  Checkpoint big = sample();
  big.model["huge"] = Tensor::ones({1 << 20});  // 4 MiB
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit small = old;
  small.rlim_cur = 64 << 10;
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  bool threw = false;
  std::string msg;
  try {
    save_checkpoint(p, big);
  } catch (const Error& e) {
    threw = true;
    msg = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, old_handler);

  ASSERT_TRUE(threw) << "the save should have failed under a 64 KiB file-size limit";
  EXPECT_NE(msg.find(p), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_EQ(read_bytes(p), before);
  expect_same(load_checkpoint(p), good);
  EXPECT_EQ(listing(), std::vector<std::string>{"last.safetensors"});
}

TEST_F(CheckpointTest, DirectoryInTheWayIsAnError) {
  // The destination is a directory: rename cannot replace it, and nothing is left behind.
  const std::string p = path("ckpt");
  fs::create_directories(p);
  expect_error([&] { save_checkpoint(p, sample()); }, {p});
  EXPECT_TRUE(fs::is_directory(p));
  EXPECT_EQ(listing(), std::vector<std::string>{"ckpt"});

  // A missing directory on the way to the file.
  const std::string q = path("missing/dir/last.safetensors");
  expect_error([&] { save_checkpoint(q, sample()); }, {q});
}

// ---- with the real model and optimiser ----------------------------------------------------------

// Save after two AdamW steps, restore into a fresh model and optimiser, and the third step is
// bit-identical to the uninterrupted run.
TEST_F(CheckpointTest, ResumesAModelAndOptimizerBitIdentically) {
  const Tensor x = test::random_tensor({8, 4}, 11);
  auto step = [&](nn::Linear& m, optim::AdamW& opt) {
    opt.zero_grad();
    sum(mul(m(x), m(x))).backward();
    opt.step();
  };
  Generator g1(5);
  nn::Linear a(4, 3, {}, g1);
  optim::AdamW opt_a(a.named_parameters(), {.lr = 1e-2f, .weight_decay = 0.1f});
  step(a, opt_a);
  step(a, opt_a);
  const std::string p = path("resume.safetensors");
  save_checkpoint(p, {a.state_dict(), opt_a.state(), {{"step", 2}}});
  step(a, opt_a);

  Generator g2(99);  // different initial weights, overwritten by the checkpoint
  nn::Linear b(4, 3, {}, g2);
  optim::AdamW opt_b(b.named_parameters(), {.lr = 1e-2f, .weight_decay = 0.1f});
  const Checkpoint c = load_checkpoint(p);
  b.load_state_dict(c.model);
  opt_b.load(c.optimizer);
  EXPECT_EQ(c.state["step"], 2);
  step(b, opt_b);
  EXPECT_EQ(b.weight.to_vector(), a.weight.to_vector());
  EXPECT_EQ(b.bias.to_vector(), a.bias.to_vector());

  // A checkpoint of another shape is refused, naming the tensor; the model is unchanged.
  nn::Linear wrong(5, 3);
  const std::vector<float> before = wrong.weight.to_vector();
  expect_error([&] { wrong.load_state_dict(c.model); }, {"weight"});
  EXPECT_EQ(wrong.weight.to_vector(), before);
}

}  // namespace
}  // namespace focus::train
