#include <cmath>
#include <fstream>

#include "focus/train.h"
#include "test_util.h"

namespace focus::train {
namespace {

using json = nlohmann::json;

class JsonlLogTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir_.file(name); }

  static std::vector<std::string> lines(const std::string& p) {
    std::ifstream f(p);
    std::vector<std::string> out;
    for (std::string line; std::getline(f, line);) out.push_back(line);
    return out;
  }

  test::ScratchDir dir_{"log"};
};

TEST_F(JsonlLogTest, OneCompactRecordPerLineReadableWhileOpen) {
  const std::string p = path("log.jsonl");
  JsonlLog log(p);
  EXPECT_TRUE(log.is_open());
  EXPECT_EQ(log.path(), p);
  const json step = {{"kind", "step"},  {"epoch", 1}, {"step", 50},        {"loss", 0.6931},
                     {"accuracy", 0.5}, {"lr", 3e-3}, {"grad_norm", 1.25}, {"time", 12.5}};
  const json epoch = {{"kind", "epoch"},
                      {"epoch", 1},
                      {"loss", 0.4},
                      {"val", {{"acc", 0.9}}},
                      {"note", "two\nlines"}};
  log.write(step);
  // Flushed per record: another reader sees it before the log is closed.
  ASSERT_EQ(lines(p).size(), 1u);
  log.write(epoch);
  const auto got = lines(p);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(json::parse(got[0]), step);
  EXPECT_EQ(json::parse(got[1]), epoch);
  EXPECT_EQ(got[0].find(": "), std::string::npos) << "not compact: " << got[0];
}

TEST_F(JsonlLogTest, TruncatesOrAppends) {
  const std::string p = path("log.jsonl");
  {
    JsonlLog log(p);
    log.write({{"step", 1}});
    log.write({{"step", 2}});
  }
  {
    JsonlLog log(p, /*append=*/true);
    log.write({{"step", 3}});
  }
  auto got = lines(p);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(json::parse(got[2])["step"], 3);
  {
    JsonlLog log(p);
    log.write({{"step", 1}});
  }
  got = lines(p);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(json::parse(got[0])["step"], 1);
}

TEST_F(JsonlLogTest, NonFiniteNumbersBecomeNull) {
  const std::string p = path("log.jsonl");
  JsonlLog log(p);
  log.write({{"loss", std::nan("")}, {"grad_norm", INFINITY}, {"lr", 0.1}});
  const json got = json::parse(lines(p).at(0));
  EXPECT_TRUE(got["loss"].is_null());
  EXPECT_TRUE(got["grad_norm"].is_null());
  EXPECT_EQ(got["lr"], 0.1);
}

TEST_F(JsonlLogTest, MovesKeepTheFile) {
  const std::string p = path("log.jsonl");
  JsonlLog log;
  EXPECT_FALSE(log.is_open());
  log = JsonlLog(p);
  EXPECT_TRUE(log.is_open());
  JsonlLog other(std::move(log));
  EXPECT_FALSE(log.is_open());
  other.write({{"a", 1}});
  EXPECT_EQ(lines(p).size(), 1u);
}

TEST_F(JsonlLogTest, ErrorsNameThePath) {
  const std::string p = path("missing/dir/log.jsonl");
  test::expect_error([&] { JsonlLog log(p); }, {p, "cannot open", "No such file"});
  test::expect_error([&] { JsonlLog log(dir_.str()); }, {dir_.str(), "cannot open"});
  JsonlLog closed;
  test::expect_error([&] { closed.write({{"a", 1}}); }, {"not open"});
}

}  // namespace
}  // namespace focus::train
