// Config helpers: list values, --set overrides, and the Reader's unknown-key check.
#include <gtest/gtest.h>

#include "focus/config.h"

namespace focus {
namespace {

TEST(Config, SplitListTrimsAndDropsEmptyItems) {
  EXPECT_EQ(config::split_list("yes, no,up ,,  down"),
            (std::vector<std::string>{"yes", "no", "up", "down"}));
  EXPECT_TRUE(config::split_list("").empty());
  EXPECT_TRUE(config::split_list(" , ,").empty());
  EXPECT_EQ(config::split_list("Reply-To"), (std::vector<std::string>{"Reply-To"}));
}

TEST(Config, SetPathParsesJsonOrKeepsAString) {
  nlohmann::json root = {{"train", {{"lr", 0.1}}}};
  config::set_path(root, "train.lr=0.5");
  config::set_path(root, "model.pool=mean");
  config::set_path(root, "data.flip=[1,2]");
  EXPECT_DOUBLE_EQ(root["train"]["lr"].get<double>(), 0.5);
  EXPECT_EQ(root["model"]["pool"], "mean");
  EXPECT_EQ(root["data"]["flip"], nlohmann::json::array({1, 2}));
}

TEST(Config, FinishNamesTheUnknownKey) {
  const nlohmann::json root = {{"data", {{"seed", 3}, {"crop_pda", 2}}}};
  config::Reader r(root);
  config::Reader data = r.object("data");
  EXPECT_EQ(data.integer("seed", 1, 0), 3);
  try {
    data.finish();
    FAIL() << "finish() accepted an unknown key";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("data.crop_pda"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace focus
