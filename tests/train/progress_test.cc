#include <chrono>
#include <cstdio>
#include <regex>
#include <thread>

#include "focus/train.h"
#include "test_util.h"

namespace focus::train {
namespace {

// Captures what a Progress writes, through a FILE* like stdout.
class Capture {
 public:
  Capture() : f_(open_memstream(&buf_, &len_)) {}
  ~Capture() {
    std::fclose(f_);
    std::free(buf_);
  }
  std::FILE* file() { return f_; }
  std::string text() {
    std::fflush(f_);
    return std::string(buf_, len_);
  }

 private:
  char* buf_ = nullptr;
  size_t len_ = 0;
  std::FILE* f_;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t from = 0;
  for (size_t at; (at = s.find(sep, from)) != std::string::npos; from = at + 1)
    out.push_back(s.substr(from, at - from));
  if (from < s.size()) out.push_back(s.substr(from));
  return out;
}

bool matches(const std::string& s, const char* re) { return std::regex_match(s, std::regex(re)); }

TEST(Progress, PlainLinesEveryNStepsAndAtTheEndOfEachEpoch) {
  Capture cap;
  Progress p(cap.file(), /*is_terminal=*/false, /*total_steps=*/20, /*epochs=*/2,
             /*plain_every=*/4);
  for (int s = 1; s <= 10; ++s) p.update(1, s, 0.693147f, 0.875f, 32 * s);
  p.end_epoch("epoch 1: loss 0.6931 val acc 90.0%");
  for (int s = 1; s <= 3; ++s) p.update(2, s, 0.5f, 0.9f, 32 * s);  // stopped early
  p.end_epoch("epoch 2: stopped");
  p.end_epoch("");  // nothing more to show

  const std::string out = cap.text();
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  const auto lines = split(out, '\n');
  ASSERT_EQ(lines.size(), 6u) << out;
  const char* step_line =
      R"(epoch (\d+)/2 step (\d+)/10 loss [0-9.]+ acc [0-9.]+% \d+ samples/s ETA \d+:\d\d)";
  EXPECT_TRUE(matches(lines[0], step_line)) << lines[0];
  EXPECT_TRUE(lines[0].starts_with("epoch 1/2 step 4/10 loss 0.6931 acc 87.5% ")) << lines[0];
  EXPECT_TRUE(lines[1].starts_with("epoch 1/2 step 8/10 ")) << lines[1];
  EXPECT_TRUE(lines[2].starts_with("epoch 1/2 step 10/10 ")) << lines[2];
  EXPECT_TRUE(lines[2].ends_with(" ETA 0:00")) << lines[2];
  EXPECT_EQ(lines[3], "epoch 1: loss 0.6931 val acc 90.0%");
  EXPECT_TRUE(lines[4].starts_with("epoch 2/2 step 3/10 loss 0.5 acc 90.0% ")) << lines[4];
  EXPECT_TRUE(matches(lines[4], step_line)) << lines[4];
  EXPECT_EQ(lines[5], "epoch 2: stopped");
}

TEST(Progress, NotATerminalByDefaultForAFile) {
  Capture cap;
  Progress p(cap.file(), 3, 1, 1);
  p.update(1, 1, 2.0f, 0.1f, 8);
  EXPECT_TRUE(cap.text().starts_with("epoch 1/1 step 1/3 loss 2 acc 10.0%")) << cap.text();
  EXPECT_TRUE(cap.text().ends_with("\n"));
}

TEST(Progress, FormatsNumbers) {
  Capture cap;
  Progress p(cap.file(), false, /*total_steps=*/1'000'000'000'000, /*epochs=*/0, 1);
  p.update(3, 1, 12345.678f, std::nanf(""), 64);  // no accuracy; no epoch count
  p.update(3, 2, 0.000123456f, 1.0f, 128);
  p.end_epoch("");
  p.update(4, 5, 1.0f, -1.0f, 64);  // steps per epoch unknown below
  const auto lines = split(cap.text(), '\n');
  ASSERT_EQ(lines.size(), 3u) << cap.text();
  // 4 significant digits; hours once the ETA passes one.
  EXPECT_TRUE(matches(
      lines[0], R"(epoch 3 step 1/1000000000000 loss 1\.235e\+04 \d+ samples/s ETA \d+:\d\d:\d\d)"))
      << lines[0];
  EXPECT_TRUE(lines[1].starts_with("epoch 3 step 2/1000000000000 loss 0.0001235 acc 100.0% "))
      << lines[1];

  Capture cap2;
  Progress q(cap2.file(), false, /*total_steps=*/0, /*epochs=*/5, 1);
  q.update(2, 7, 0.25f, 0.5f, 224);
  EXPECT_TRUE(matches(cap2.text(), "epoch 2/5 step 7 loss 0\\.25 acc 50\\.0% \\d+ samples/s\n"))
      << cap2.text();
}

TEST(Progress, ANewEpochFinishesThePreviousOne) {
  Capture cap;
  Progress p(cap.file(), false, 300, 3, 50);
  p.update(1, 3, 1.0f, 0.5f, 96);
  p.update(2, 1, 0.9f, 0.6f, 32);
  const auto lines = split(cap.text(), '\n');
  ASSERT_EQ(lines.size(), 1u) << cap.text();
  EXPECT_TRUE(lines[0].starts_with("epoch 1/3 step 3/100 ")) << lines[0];
}

// The ETA covers the rest of the run at the rate measured since the clock started, which also
// holds for a run resumed in the middle of an epoch (the first update is the first timed step).
TEST(Progress, EtaIsForTheRestOfTheRun) {
  Capture cap;
  Progress p(cap.file(), false, /*total_steps=*/400, /*epochs=*/4, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  p.update(3, 51, 1.0f, 0.5f, 64);  // 0.2 s for one step; 49 + 100 steps to go: about 0:30
  const std::string out = cap.text();
  EXPECT_TRUE(
      matches(out, R"(epoch 3/4 step 51/100 loss 1 acc 50\.0% \d+ samples/s ETA 0:(29|3\d)\n)"))
      << out;
}

TEST(Progress, TerminalRedrawsOneLineAtMostEvery100ms) {
  Capture cap;
  Progress p(cap.file(), /*is_terminal=*/true, /*total_steps=*/400, /*epochs=*/10,
             /*plain_every=*/1);
  const auto t0 = std::chrono::steady_clock::now();
  for (int s = 1; s <= 20; ++s) p.update(2, s, 0.5f, 0.25f, 16 * s);
  const bool fast = std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(90);
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  p.update(2, 21, 0.4f, 0.3f, 16 * 21);
  for (int s = 22; s <= 40; ++s) p.update(2, s, 0.3f, 0.5f, 16 * s);
  p.end_epoch("epoch 2: val acc 50.0%");

  const std::string out = cap.text();
  // One line redrawn: no newline until the epoch ends, then the summary on its own line.
  const auto lines = split(out, '\n');
  ASSERT_EQ(lines.size(), 2u) << out;
  EXPECT_EQ(lines[1], "epoch 2: val acc 50.0%");
  auto draws = split(lines[0], '\r');
  ASSERT_FALSE(draws.empty());
  EXPECT_TRUE(draws[0].empty());  // starts with '\r'
  draws.erase(draws.begin());
  for (const std::string& d : draws) {
    EXPECT_TRUE(d.ends_with("\x1b[K")) << d;  // clears what a longer previous line left
    EXPECT_TRUE(matches(
        d.substr(0, d.size() - 3),
        R"(epoch 2/10 \[[#.]{20}\] \d+/40 loss [0-9.]+ acc [0-9.]+% \d+ samples/s ETA \d+:\d\d)"))
        << d;
  }
  ASSERT_GE(draws.size(), 3u);
  EXPECT_TRUE(
      draws.front().starts_with("epoch 2/10 [....................] 1/40 loss 0.5 acc 25.0%"))
      << draws.front();
  EXPECT_TRUE(
      draws.back().starts_with("epoch 2/10 [####################] 40/40 loss 0.3 acc 50.0%"))
      << draws.back();
  // The redraw after the pause shows step 21, half the bar.
  bool saw21 = false;
  for (const std::string& d : draws)
    saw21 |= d.starts_with("epoch 2/10 [##########..........] 21/40 loss 0.4 ");
  EXPECT_TRUE(saw21) << out;
  if (fast) EXPECT_EQ(draws.size(), 3u) << out;  // 1, 21 (after the pause) and 40 (the last)
}

TEST(Progress, TerminalEndEpochDrawsTheLastStepShown) {
  Capture cap;
  Progress p(cap.file(), true, 1000, 1, 1);
  p.update(1, 1, 1.0f, 0.5f, 10);
  p.update(1, 2, 0.75f, 0.5f, 20);  // within 100 ms: not drawn yet
  p.end_epoch("done");
  const std::string out = cap.text();
  const size_t last = out.rfind('\r');
  ASSERT_NE(last, std::string::npos);
  EXPECT_TRUE(out.substr(last).starts_with("\repoch 1/1 [....................] 2/1000 loss 0.75"))
      << out;
  EXPECT_TRUE(out.ends_with("\x1b[K\ndone\n")) << out;
}

}  // namespace
}  // namespace focus::train
