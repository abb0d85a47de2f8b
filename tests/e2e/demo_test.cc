// `make run`'s demo: runs, prints its loss falling and exits 0.
#include <cstdio>
#include <string>

#include "test_util.h"

namespace {

std::string run(const std::string& cmd, int& status) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  status = p ? pclose(p) : -1;
  return out;
}

TEST(Demo, LossFalls) {
  int status = 0;
  std::string out = run(std::string(FOCUS_BINARY_DIR) + "/demo 150", status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("training accuracy"), std::string::npos) << out;
}

TEST(Demo, BadArgumentIsOneLineError) {
  int status = 0;
  std::string out = run(std::string(FOCUS_BINARY_DIR) + "/demo -3", status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("demo: expected a positive step count"), std::string::npos) << out;
}

}  // namespace
