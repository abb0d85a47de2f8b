// The spam filter end to end through the CLI: a short training run on a stratified subset of the
// SpamAssassin corpus learns well above the majority class, predict prints a label and a
// probability, the attention view is escaped HTML, and bad input is a one-line error.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "focus/io/safetensors.h"
#include "focus/train.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;

using Result = ::focus::test::CliResult;
const auto& run = ::focus::test::run_cli;

std::string corpus() {
  const char* cache = std::getenv("FOCUS_CACHE");
  return (fs::path(cache && *cache ? cache : std::string(FOCUS_SOURCE_DIR) + "/.cache") / "spam" /
          "data")
      .string();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void check_learned(const std::string& dir_, const Result& train_) {
  const nlohmann::json m = nlohmann::json::parse(slurp(dir_ + "/model/test_metrics.json"));
  const double n = m.at("examples");
  const double spam = double(m.at("true_positive")) + double(m.at("false_negative"));
  const double majority = std::max(spam, n - spam) / n;  // about 0.69 (ham)
  EXPECT_GT(majority, 0.6);
  EXPECT_GE(double(m.at("accuracy")), 0.85) << train_.out;
  EXPECT_GE(double(m.at("accuracy")), majority + 0.15) << train_.out;
  EXPECT_GE(double(m.at("roc_auc")), 0.93) << train_.out;
  EXPECT_GE(double(m.at("f1")), 0.75) << train_.out;
  // The tokenizer was fitted and saved with the model; the data summary counts malformed mails.
  EXPECT_TRUE(fs::exists(dir_ + "/model/tokenizer.model"));
  const nlohmann::json d = nlohmann::json::parse(slurp(dir_ + "/model/data.json"));
  EXPECT_EQ(int64_t(d.at("mails")), 900);
  EXPECT_TRUE(d.contains("malformed"));
  EXPECT_NE(train_.out.find("ROC-AUC"), std::string::npos);
}

void check_predict(const std::string& dir_) {
  const std::string mail = dir_ + "/crafted.txt";
  std::ofstream(mail) << "From: \"Deals\" <deals@example.com>\nSubject: <b>FREE</b> money & "
                         "prizes\nContent-Type: text/html\n\n<html><body><p>Click "
                         "&lt;script&gt;alert(1)&lt;/script&gt; here to claim your prize "
                         "now!</p></body></html>\n";
  const std::string html = dir_ + "/view.html";
  Result r = run("predict " + dir_ + "/model " + mail + " --attention " + html);
  ASSERT_EQ(r.status, 0) << r.out;
  const bool spam = r.out.rfind("spam ", 0) == 0, ham = r.out.rfind("ham ", 0) == 0;
  EXPECT_TRUE(spam || ham) << r.out;
  const double p = std::atof(r.out.substr(r.out.find(' ') + 1).c_str());
  EXPECT_GE(p, 0.5);
  EXPECT_LE(p, 1.0);
  const std::string page = slurp(html);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  // The mail's text is data, never markup: its < > & arrive escaped.
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page.find("&lt;b&gt;FREE&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(page.find("&amp;"), std::string::npos);
  EXPECT_NE(page.find("background:rgba(255,90,0,"), std::string::npos);
}

void check_corpus_mail(const std::string& dir_) {
  std::string mail;
  for (const auto& e : fs::directory_iterator(corpus() + "/spam-2"))
    if (e.path().extension() == ".txt") {
      mail = e.path().string();
      break;
    }
  ASSERT_FALSE(mail.empty());
  Result r = run("predict " + dir_ + "/model " + mail);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("pieces read"), std::string::npos) << r.out;
}

void check_bad_input(const std::string& dir_) {
  Result missing = run("predict " + dir_ + "/model /nonexistent/mail.txt");
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.out.find("/nonexistent/mail.txt"), std::string::npos) << missing.out;
  EXPECT_EQ(std::count(missing.out.begin(), missing.out.end(), '\n'), 1) << missing.out;
  // An empty mail still gets an answer.
  const std::string empty = dir_ + "/empty.txt";
  std::ofstream(empty).flush();
  Result e = run("predict " + dir_ + "/model " + empty);
  EXPECT_EQ(e.status, 0) << e.out;
  // A config key the task does not know is a usage error naming it.
  const std::string cfg = dir_ + "/bad.json";
  std::ofstream(cfg) << R"({"data": {"task": "spam", "lenght": 10}})";
  Result bad = run("train --config " + cfg + " --out " + dir_ + "/bad --quiet");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.out.find("lenght"), std::string::npos) << bad.out;
  // So is a header list with something that is no header name.
  std::ofstream(cfg) << R"({"data": {"task": "spam", "headers": "Subject,X Bad"}})";
  Result bad_header = run("train --config " + cfg + " --out " + dir_ + "/bad --quiet");
  EXPECT_EQ(bad_header.status, 1);
  EXPECT_NE(bad_header.out.find("'X Bad' is not a header name"), std::string::npos)
      << bad_header.out;
  // A loss weight for a group the corpus does not have (a typo of hard-ham-1), or below 0.
  std::ofstream(cfg) << nlohmann::json({{"data",
                                         {{"task", "spam"},
                                          {"path", corpus()},
                                          {"group_weights", {{"hard-ham", 3}}}}}})
                            .dump();
  Result bad_group = run("train --config " + cfg + " --out " + dir_ + "/bad --quiet");
  EXPECT_EQ(bad_group.status, 1);
  EXPECT_NE(bad_group.out.find("data.group_weights names 'hard-ham', which is not a group"),
            std::string::npos)
      << bad_group.out;
  EXPECT_NE(bad_group.out.find("hard-ham-1"), std::string::npos) << bad_group.out;
  std::ofstream(cfg) << nlohmann::json({{"data",
                                         {{"task", "spam"},
                                          {"path", corpus()},
                                          {"group_weights", {{"hard-ham-1", -1}}}}}})
                            .dump();
  Result negative = run("train --config " + cfg + " --out " + dir_ + "/bad --quiet");
  EXPECT_EQ(negative.status, 1);
  EXPECT_NE(negative.out.find("group_weights"), std::string::npos) << negative.out;
}

}  // namespace

// The spam column of a `focus eval --probabilities` CSV, one value per row.
std::vector<double> spam_column(const std::string& csv) {
  std::ifstream rows(csv);
  std::string line;
  std::getline(rows, line);  // example,label,ham,spam,source
  std::vector<double> out;
  while (std::getline(rows, line)) {
    std::stringstream fields(line);
    std::string cell;
    for (int i = 0; i < 4; ++i) std::getline(fields, cell, ',');
    out.push_back(std::stod(cell));
  }
  return out;
}

// focus eval gives the figures of the training run's report; several MODEL_DIRs are scored as
// an ensemble, and a model averaged with itself is that model.
void check_eval(const std::string& dir_) {
  const nlohmann::json m = nlohmann::json::parse(slurp(dir_ + "/model/test_metrics.json"));
  char want[160];
  std::snprintf(want, sizeof want, "test accuracy: %.2f%%", 100.0 * double(m.at("accuracy")));
  std::snprintf(want + 64, 96, "F1 %.4f, ROC-AUC %.4f", double(m.at("f1")),
                double(m.at("roc_auc")));
  const Result one = run("eval " + dir_ + "/model --threads 1");
  ASSERT_EQ(one.status, 0) << one.out;
  EXPECT_NE(one.out.find(want), std::string::npos) << want << "\n" << one.out;
  EXPECT_NE(one.out.find(want + 64), std::string::npos) << (want + 64) << "\n" << one.out;
  EXPECT_NE(one.out.find("positive class spam"), std::string::npos) << one.out;
  // --probabilities: a row per test mail; its errors at 0.5 are the report's.
  const std::string csv = dir_ + "/probabilities.csv";
  const Result probs = run("eval " + dir_ + "/model --threads 1 --probabilities " + csv);
  ASSERT_EQ(probs.status, 0) << probs.out;
  std::ifstream rows(csv);
  std::string line;
  ASSERT_TRUE(std::getline(rows, line));
  EXPECT_EQ(line, "example,label,ham,spam,source");
  int64_t n = 0, false_spam = 0, missed = 0;
  std::vector<std::string> errors;  // as the report names them, from the rows' sources
  std::vector<double> p32;          // each row's spam probability
  std::vector<bool> is_spam;        // and whether its label is spam
  while (std::getline(rows, line)) {
    std::stringstream fields(line);
    std::string index, label, ham, spam, source;
    std::getline(fields, index, ',');
    std::getline(fields, label, ',');
    std::getline(fields, ham, ',');
    std::getline(fields, spam, ',');
    std::getline(fields, source);
    EXPECT_EQ(index, std::to_string(n));
    EXPECT_NEAR(std::stod(ham) + std::stod(spam), 1.0, 1e-5) << line;
    EXPECT_TRUE(fs::is_regular_file(source)) << line;
    // The mail's folder says its class: spam-1, spam-2 against easy-ham-1, hard-ham-1, ...
    EXPECT_EQ(fs::path(source).parent_path().filename().string().rfind("spam", 0) == 0,
              label == "spam")
        << line;
    p32.push_back(std::stod(spam));
    is_spam.push_back(label == "spam");
    const bool said_spam = p32.back() > 0.5;
    if (said_spam != (label == "spam"))
      errors.push_back((said_spam ? "false spam " : "missed spam ") + source);
    false_spam += label == "ham" && said_spam;
    missed += label == "spam" && !said_spam;
    ++n;
  }
  EXPECT_EQ(nlohmann::json(errors), m.at("errors"));
  EXPECT_EQ(n, int64_t(m.at("examples")));
  // --precision bf16 (docs/precision.md; padded batches, so the attention's key lengths too): the
  // same decisions, spam probabilities within 0.02, and not f32's to the last digit.
  const std::string csv16 = dir_ + "/probabilities_bf16.csv";
  const Result b16 =
      run("eval " + dir_ + "/model --threads 1 --precision bf16 --probabilities " + csv16);
  ASSERT_EQ(b16.status, 0) << b16.out;
  const std::vector<double> p16 = spam_column(csv16);
  ASSERT_EQ(p16.size(), p32.size());
  int changed = 0, moved = 0;
  double worst = 0;
  for (size_t i = 0; i < p32.size(); ++i) {
    worst = std::max(worst, std::abs(p32[i] - p16[i]));
    changed += (p32[i] > 0.5) != (p16[i] > 0.5);
    moved += p32[i] != p16[i];
  }
  EXPECT_LT(worst, 0.02);
  EXPECT_LE(changed, 1) << "of " << p32.size() << " test mails";
  EXPECT_GT(moved, 0);
  // --threshold T: spam when its probability is above T; the figures follow the CSV's rows.
  for (const double t : {0.2, 0.9}) {
    int64_t fs = 0, ms = 0;
    for (size_t i = 0; i < p32.size(); ++i) {
      fs += !is_spam[i] && p32[i] > t;
      ms += is_spam[i] && !(p32[i] > t);
    }
    char acc[64];
    std::snprintf(acc, sizeof acc, "test accuracy: %.2f%%",
                  100.0 * double(int64_t(p32.size()) - fs - ms) / double(p32.size()));
    const std::string report = dir_ + "/threshold";
    const Result r = run("eval " + dir_ + "/model --threads 1 --report --out " + report +
                         " --threshold " + std::to_string(t));
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("decision threshold: spam above " + std::string(t == 0.2 ? "0.2" : "0.9")),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find(acc), std::string::npos) << acc << "\n" << r.out;
    const nlohmann::json tm = nlohmann::json::parse(slurp(report + "/test_metrics.json"));
    EXPECT_EQ(int64_t(tm.at("false_positive")), fs) << t;
    EXPECT_EQ(int64_t(tm.at("false_negative")), ms) << t;
    EXPECT_NEAR(double(tm.at("threshold")), t, 1e-6);
    EXPECT_EQ(tm.at("errors").size(), size_t(fs + ms));
  }
  EXPECT_EQ(false_spam, int64_t(m.at("false_positive")));
  EXPECT_EQ(missed, int64_t(m.at("false_negative")));
  const Result nowhere =
      run("eval " + dir_ + "/model --threads 1 --probabilities /nonexistent/dir/p.csv");
  EXPECT_EQ(nowhere.status, 2) << nowhere.out;
  EXPECT_NE(nowhere.out.find("cannot write '/nonexistent/dir/p.csv.tmp'"), std::string::npos)
      << nowhere.out;
  const Result two = run("eval " + dir_ + "/model " + dir_ + "/model --threads 1");
  ASSERT_EQ(two.status, 0) << two.out;
  EXPECT_NE(two.out.find("ensemble of 2 models"), std::string::npos) << two.out;
  EXPECT_NE(two.out.find(want), std::string::npos) << want << "\n" << two.out;
  EXPECT_EQ(two.out.find("other data options"), std::string::npos) << two.out;
  // A member read with other data options (here fewer header lines) is averaged over the same
  // mails, with a note that the examples must be the same.
  fs::remove_all(dir_ + "/other");
  fs::copy(dir_ + "/model", dir_ + "/other", fs::copy_options::recursive);
  nlohmann::json other = nlohmann::json::parse(slurp(dir_ + "/other/config.json"));
  other["data"]["headers"] = "Subject,From";
  std::ofstream(dir_ + "/other/config.json") << other.dump(2);
  const Result mixed = run("eval " + dir_ + "/model " + dir_ + "/other --threads 1");
  ASSERT_EQ(mixed.status, 0) << mixed.out;
  EXPECT_NE(mixed.out.find("/other was trained with other data options than"), std::string::npos)
      << mixed.out;
  // An ensemble's report goes to --out, never over a member's own; a model averaged with itself
  // reports what it reports alone, and the members are named.
  const Result no_out = run("eval " + dir_ + "/model " + dir_ + "/model --report");
  EXPECT_EQ(no_out.status, 1) << no_out.out;
  EXPECT_NE(no_out.out.find("needs --out DIR"), std::string::npos) << no_out.out;
  const Result stray = run("eval " + dir_ + "/model --out " + dir_ + "/ens");
  EXPECT_EQ(stray.status, 1) << stray.out;
  EXPECT_NE(stray.out.find("give --report too"), std::string::npos) << stray.out;
  const std::string own = slurp(dir_ + "/model/test_metrics.json");
  fs::remove_all(dir_ + "/ens");
  const Result report =
      run("eval " + dir_ + "/model " + dir_ + "/model --report --out " + dir_ + "/ens");
  ASSERT_EQ(report.status, 0) << report.out;
  EXPECT_EQ(slurp(dir_ + "/model/test_metrics.json"), own);
  const nlohmann::json ens = nlohmann::json::parse(slurp(dir_ + "/ens/test_metrics.json"));
  const nlohmann::json alone = nlohmann::json::parse(own);
  EXPECT_EQ(ens.at("members"), nlohmann::json::array({dir_ + "/model", dir_ + "/model"}));
  for (const char* key : {"accuracy", "f1", "roc_auc", "false_positive", "errors"})
    EXPECT_EQ(ens.at(key), alone.at(key)) << key;
}

// The learning test's config in DIR/config.in.json (a 900-mail subset, a one-layer model, eight
// epochs), with `patch` merged over it (RFC 7386).
std::string write_config(const std::string& dir, const nlohmann::json& patch = nullptr) {
  nlohmann::json config = {{"data",
                            {{"task", "spam"},
                             {"path", corpus()},
                             {"limit", 900},
                             {"length", 96},
                             {"headers", "Subject,From,Reply-To,Date,Mailer,Type"},
                             {"vocab", 1500},
                             {"validation", 0.15},
                             {"test", 0.2},
                             {"seed", 3}}},
                           {"model",
                            {{"kind", "sequence_transformer"},
                             {"dim", 32},
                             {"depth", 1},
                             {"heads", 2},
                             {"mlp_ratio", 2},
                             {"pool", "soft"}}},
                           {"train",
                            {{"epochs", 8},
                             {"batch", 32},
                             {"lr", 0.01},
                             {"class_weights", "balanced"},
                             {"log_every", 10},
                             {"seed", 1}}}};
  if (!patch.is_null()) config.merge_patch(patch);
  const std::string path = dir + "/config.in.json";
  std::ofstream(path) << config.dump(2);
  return path;
}

// ctest runs each case in its own process, so the case that trains also checks everything that
// needs the trained model: one training run per suite.
TEST(Spam, LearnsWellAboveTheMajorityClassAndPredicts) {
  if (!fs::is_directory(corpus()))
    GTEST_SKIP() << "no spam corpus at " << corpus() << " (scripts/fetch_spam.sh fetches it)";
  const ::focus::test::ScratchDir scratch("spam_learn");
  const std::string dir = scratch.str();
  const std::string cfg = write_config(dir);
  // One thread: this model is too small to gain from two, and a busy machine punishes two.
  const Result train =
      run("train --config " + cfg + " --out " + dir + "/model --threads 1 --quiet");
  ASSERT_EQ(train.status, 0) << train.out;
  check_learned(dir, train);
  check_eval(dir);
  check_predict(dir);
  check_corpus_mail(dir);
  check_bad_input(dir);
}

// The shipped soft-attention baseline (configs/spam_soft.json: no encoder block, 2,048 pieces)
// as a user runs it, on the 900-mail subset: it learns, and its attention view shows the soft
// pooling weights.
TEST(Spam, SoftAttentionBaselineConfigLearns) {
  if (!fs::is_directory(corpus()))
    GTEST_SKIP() << "no spam corpus at " << corpus() << " (scripts/fetch_spam.sh fetches it)";
  const ::focus::test::ScratchDir scratch("spam_soft");
  const std::string dir = scratch.str();
  nlohmann::json config =
      nlohmann::json::parse(slurp(std::string(FOCUS_SOURCE_DIR) + "/configs/spam_soft.json"));
  ASSERT_EQ(config.at("model").at("depth"), 0);
  config.merge_patch({{"data", {{"path", corpus()}, {"limit", 900}}}});
  const std::string cfg = dir + "/config.in.json";
  std::ofstream(cfg) << config.dump(2);
  const Result train =
      run("train --config " + cfg + " --out " + dir + "/model --threads 1 --quiet");
  ASSERT_EQ(train.status, 0) << train.out;
  check_learned(dir, train);
  check_predict(dir);
}

// scripts/train_ensemble.sh trains seeds 1..N of one config side by side and writes their
// ensemble's report; run again, it trains nothing and gives the same report.
TEST(Spam, EnsembleScriptTrainsSeedsAndReportsTheEnsemble) {
  if (!fs::is_directory(corpus()))
    GTEST_SKIP() << "no spam corpus at " << corpus() << " (scripts/fetch_spam.sh fetches it)";
  const ::focus::test::ScratchDir scratch("spam_ensemble");
  const std::string dir = scratch.str();
  // Smaller than the learning test's: this checks the script, not how well a model learns.
  const std::string cfg = write_config(
      dir, {{"data", {{"limit", 500}, {"length", 64}, {"vocab", 800}, {"headers", "Subject,From"}}},
            {"model", {{"dim", 16}}},
            {"train", {{"epochs", 2}}}});
  const std::string script = std::string(FOCUS_SOURCE_DIR) + "/scripts/train_ensemble.sh " +
                             std::string(FOCUS_BINARY_DIR) + "/focus ";
  const auto& shell = ::focus::test::run_shell;
  const std::string out = dir + "/runs";
  const Result first = shell("bash " + script + cfg + " " + out + " 2 2");
  ASSERT_EQ(first.status, 0) << first.out;
  EXPECT_NE(first.out.find("ensemble of 2 models"), std::string::npos) << first.out;
  const nlohmann::json one = nlohmann::json::parse(slurp(out + "/seed1/test_metrics.json"));
  const nlohmann::json two = nlohmann::json::parse(slurp(out + "/seed2/test_metrics.json"));
  EXPECT_NE(double(one.at("loss")), double(two.at("loss")));  // the seeds made other models
  const std::string report = slurp(out + "/ensemble/test_metrics.json");
  const nlohmann::json ens = nlohmann::json::parse(report);
  EXPECT_EQ(ens.at("members"), nlohmann::json::array({out + "/seed1", out + "/seed2"}));
  EXPECT_EQ(ens.at("examples"), one.at("examples"));

  const Result again = shell("bash " + script + cfg + " " + out + " 2 2");
  ASSERT_EQ(again.status, 0) << again.out;
  EXPECT_NE(again.out.find("seed 1: trained already"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("seed 2: trained already"), std::string::npos) << again.out;
  EXPECT_EQ(slurp(out + "/ensemble/test_metrics.json"), report);

  const Result bad = shell("bash " + script + cfg + " " + out + " two");
  EXPECT_EQ(bad.status, 1) << bad.out;
  EXPECT_NE(bad.out.find("N must be a positive count"), std::string::npos) << bad.out;
  const Result failing =
      shell("bash " + script + cfg + " " + dir + "/typo 1 1 --set train.lrate=1");
  EXPECT_NE(failing.status, 0) << failing.out;
  EXPECT_NE(failing.out.find("seed 1: training failed"), std::string::npos) << failing.out;
  EXPECT_NE(failing.out.find("lrate"), std::string::npos) << failing.out;
}

// 500 mails, a dim-16 encoder, 3 epochs of pretraining: seconds per run.
std::string write_pretrain_config(const std::string& dir, int epochs) {
  return write_config(
      dir, {{"data", {{"limit", 500}, {"length", 64}, {"vocab", 800}, {"headers", "Subject,From"}}},
            {"model", {{"dim", 16}}},
            {"train", {{"epochs", epochs}, {"pretrain_epochs", 3}}}});
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

// train.pretrain_epochs: the encoder is first trained to fill in hidden pieces of the training
// mails (its held-out loss falls), then fine-tuned as usual; the same seed gives the same model.
TEST(Spam, PretrainingFillsInHiddenPiecesThenFineTunes) {
  if (!fs::is_directory(corpus()))
    GTEST_SKIP() << "no spam corpus at " << corpus() << " (scripts/fetch_spam.sh fetches it)";
  const ::focus::test::ScratchDir scratch("spam_pretrain");
  const std::string dir = scratch.str();
  const std::string cfg = write_pretrain_config(dir, 2);
  std::string metrics;
  for (const char* name : {"a", "b"}) {
    const std::string out = dir + "/" + name;
    const Result r = run("train --config " + cfg + " --out " + out + " --threads 1 --quiet");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("pretrained "), std::string::npos) << r.out;
    const std::vector<nlohmann::json> epochs = read_jsonl(out + "/pretrain.jsonl");
    ASSERT_EQ(epochs.size(), 3u);
    EXPECT_EQ(epochs[0].at("kind"), "pretrain_epoch");
    EXPECT_LT(double(epochs[2].at("val_loss")), double(epochs[0].at("val_loss")));
    EXPECT_LT(double(epochs[2].at("loss")), double(epochs[0].at("loss")));
    // The fine-tuning log starts afresh beside it.
    EXPECT_TRUE(fs::exists(out + "/log.jsonl"));
    const std::string m = slurp(out + "/test_metrics.json");
    if (metrics.empty())
      metrics = m;
    else
      EXPECT_EQ(m, metrics) << "the same seed pretrains and fine-tunes the same model";
  }
}

// focus pretrain trains the encoder once, on every mail outside the test split, and focus train
// starts from it (train.init): the encoder it loads is the pretrained one, the tokenizer is the
// pretrained one's, and a config that would change the test split or the model is refused.
TEST(Spam, PretrainOnceThenFineTuneFromIt) {
  if (!fs::is_directory(corpus()))
    GTEST_SKIP() << "no spam corpus at " << corpus() << " (scripts/fetch_spam.sh fetches it)";
  const ::focus::test::ScratchDir scratch("spam_pretrain_init");
  const std::string dir = scratch.str();
  const std::string cfg = write_pretrain_config(dir, 3);
  const std::string pre = dir + "/pre";
  const Result p = run("pretrain --config " + cfg + " --out " + pre + " --threads 1 --quiet");
  ASSERT_EQ(p.status, 0) << p.out;
  EXPECT_NE(p.out.find("train.init=" + pre), std::string::npos) << p.out;
  // Every mail outside the test split is pretraining text; none is held out.
  const nlohmann::json d = nlohmann::json::parse(slurp(pre + "/data.json"));
  EXPECT_EQ(int64_t(d.at("train")) + int64_t(d.at("test")), int64_t(d.at("mails")));
  EXPECT_EQ(int64_t(d.at("validation")), 0);
  const std::vector<nlohmann::json> epochs = read_jsonl(pre + "/pretrain.jsonl");
  ASSERT_EQ(epochs.size(), 3u);
  EXPECT_LT(double(epochs[2].at("loss")), double(epochs[0].at("loss")));
  EXPECT_FALSE(epochs[0].contains("val_loss"));
  const auto encoder = ::focus::io::load_safetensors(pre + "/pretrained.safetensors").tensors;
  EXPECT_TRUE(encoder.count("embed.weight"));
  for (const auto& [name, t] : encoder)
    EXPECT_TRUE(name.rfind("head.", 0) != 0 && name.rfind("pool.", 0) != 0) << name;

  // With a learning rate too small to move anything, fine-tuning keeps the encoder it loaded:
  // the pretrained one, not this seed's fresh initialisation (the run without init).
  auto largest_change = [&](const std::string& model_dir) {
    const auto ck = ::focus::train::load_checkpoint(model_dir + "/best.safetensors");
    double worst = 0;
    for (const auto& [name, t] : encoder) {
      const ::focus::Tensor a = t.contiguous(), b = ck.model.at(name).contiguous();
      EXPECT_EQ(a.shape(), b.shape()) << name;
      for (int64_t i = 0; i < a.numel(); ++i)
        worst = std::max(worst, double(std::fabs(a.data()[i] - b.data()[i])));
    }
    return worst;
  };
  const std::string still = " --set train.lr=1e-9 --epochs 1 --threads 1 --quiet --no-test";
  Result r =
      run("train --config " + cfg + " --set train.init=" + pre + still + " --out " + dir + "/init");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("encoder from " + pre), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("pretrained "), std::string::npos) << "its own pretraining is not run";
  EXPECT_LT(largest_change(dir + "/init"), 1e-5);
  EXPECT_EQ(slurp(dir + "/init/tokenizer.model"), slurp(pre + "/tokenizer.model"));
  r = run("train --config " + cfg + " --set train.pretrain_epochs=0" + still + " --out " + dir +
          "/fresh");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_GT(largest_change(dir + "/fresh"), 1e-2);

  // Fine-tuned for real, it learns; the folds of a cross-validation may start from it too.
  r = run("train --config " + cfg + " --set train.init=" + pre +
          " --epochs 8 --threads 1 --quiet --out " + dir + "/tuned");
  ASSERT_EQ(r.status, 0) << r.out;
  const nlohmann::json m = nlohmann::json::parse(slurp(dir + "/tuned/test_metrics.json"));
  EXPECT_GE(double(m.at("accuracy")), 0.85) << r.out;
  r = run("train --config " + cfg + " --set train.init=" + pre +
          " --set data.folds=3 --set data.fold=1 --max-steps 2 --threads 1 --quiet --out " + dir +
          "/fold");
  EXPECT_EQ(r.status, 0) << r.out;

  // Another model, or another data seed (another test split), is refused in one line.
  for (const std::string& change : {std::string("model.dim=32"), std::string("data.seed=4")}) {
    r = run("train --config " + cfg + " --set train.init=" + pre + " --set " + change +
            " --quiet --out " + dir + "/refused");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_NE(r.out.find("was pretrained with " + change.substr(0, change.find('='))),
              std::string::npos)
        << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  }
  // A truncated encoder file is a data error naming it, found before the data loads.
  const std::string bad = dir + "/bad";
  fs::create_directories(bad);
  for (const char* f : {"config.json", "tokenizer.model"})
    fs::copy_file(pre + "/" + f, bad + "/" + f);
  const std::string bytes = slurp(pre + "/pretrained.safetensors");
  std::ofstream(bad + "/pretrained.safetensors", std::ios::binary)
      << bytes.substr(0, bytes.size() / 2);
  r = run("train --config " + cfg + " --set train.init=" + bad + " --quiet --out " + dir +
          "/from_bad");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("pretrained.safetensors"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_FALSE(fs::exists(dir + "/from_bad/best.safetensors"));
}

// scripts/cross_validate.py trains K folds of one config: each fold validates on its own share of
// the training and validation mails, together every one of them once, and the test split stays
// the config's. Run again it trains nothing and pools the same figures. A fold out of range is a
// config error.
TEST(Spam, CrossValidationScoresEveryMailOnce) {
  if (!fs::is_directory(corpus()))
    GTEST_SKIP() << "no spam corpus at " << corpus() << " (scripts/fetch_spam.sh fetches it)";
  const ::focus::test::ScratchDir scratch("spam_cv");
  const std::string dir = scratch.str();
  const std::string cfg = write_config(dir, {{"data",
                                              {{"limit", 300},
                                               {"length", 48},
                                               {"vocab", 600},
                                               {"headers", "Subject,Links"},
                                               {"group_weights", {{"hard-ham-1", 2}}}}},
                                             {"model", {{"dim", 16}}},
                                             {"train", {{"epochs", 1}}}});
  const std::string script = "python3 " + std::string(FOCUS_SOURCE_DIR) +
                             "/scripts/cross_validate.py --focus " + std::string(FOCUS_BINARY_DIR) +
                             "/focus --folds 3 --jobs 2 ";
  const auto& shell = ::focus::test::run_shell;
  const std::string out = dir + "/cv";
  const Result first = shell(script + cfg + " " + out);
  ASSERT_EQ(first.status, 0) << first.out;
  EXPECT_EQ(first.out.find("test"), std::string::npos) << first.out;  // blind to the test split
  const nlohmann::json cv = nlohmann::json::parse(slurp(out + "/cv.json"));
  int64_t validated = 0;
  for (int f = 0; f < 3; ++f) {
    const nlohmann::json d =
        nlohmann::json::parse(slurp(out + "/fold" + std::to_string(f) + "/data.json"));
    EXPECT_EQ(int64_t(d.at("mails")), 300);
    EXPECT_EQ(int64_t(d.at("test")), 60);  // the config's test split, in every fold
    // ... which no fold model was scored on (--no-test).
    const std::string fold_dir = out + "/fold" + std::to_string(f);
    EXPECT_FALSE(fs::exists(fold_dir + "/test_metrics.json"));
    const std::string fold_log = slurp(out + "/fold" + std::to_string(f) + ".log");
    EXPECT_EQ(fold_log.find("test accuracy"), std::string::npos) << fold_log;
    EXPECT_NE(fold_log.find("the test split was not read"), std::string::npos) << fold_log;
    EXPECT_EQ(d.at("group_weights"), nlohmann::json({{"hard-ham-1", 2.0}}));
    EXPECT_EQ(int64_t(d.at("train")) + int64_t(d.at("validation")), 240);
    EXPECT_NEAR(double(d.at("validation")), 80.0, 1.0);  // a third each
    validated += int64_t(d.at("validation"));
  }
  EXPECT_EQ(validated, 240);
  EXPECT_EQ(int64_t(cv.at("examples")), 240);
  const double acc = cv.at("last").at("accuracy");
  EXPECT_GT(acc, 0.0);
  EXPECT_LE(acc, 1.0);
  EXPECT_NE(first.out.find("cross-validation, last epoch"), std::string::npos) << first.out;

  // The fold models read the same test split: their ensemble raises no note about data options.
  const Result ens = run("eval " + out + "/fold0 " + out + "/fold1 " + out + "/fold2");
  ASSERT_EQ(ens.status, 0) << ens.out;
  EXPECT_NE(ens.out.find("ensemble of 3 models"), std::string::npos) << ens.out;
  EXPECT_EQ(ens.out.find("other data options"), std::string::npos) << ens.out;

  // scripts/oof_mix.py scores each fold's validation mails with its best checkpoint, as the
  // trainer chose it, so one run's out-of-fold errors are cross_validate's best-epoch errors; a
  // run mixed with itself is the run.
  const std::string mix = "python3 " + std::string(FOCUS_SOURCE_DIR) +
                          "/scripts/oof_mix.py --focus " + std::string(FOCUS_BINARY_DIR) +
                          "/focus ";
  const Result oof = shell(mix + out + " " + out);
  ASSERT_EQ(oof.status, 0) << oof.out;
  const std::string best_errors =
      std::to_string(int64_t(cv.at("best").at("errors"))) + " errors of 240";
  EXPECT_NE(oof.out.find(out + ": " + best_errors), std::string::npos) << oof.out;
  EXPECT_NE(oof.out.find("mix of 2 runs: " + best_errors), std::string::npos) << oof.out;
  EXPECT_TRUE(fs::exists(out + "/fold0/val_probs.csv"));
  // --errors lists each of them once, and counts them by the corpus folder they come from.
  const Result listed = shell(mix + out + " --errors");
  ASSERT_EQ(listed.status, 0) << listed.out;
  int64_t lines = 0, by_folder = 0;
  for (size_t at = listed.out.find("error: "); at != std::string::npos;
       at = listed.out.find("error: ", at + 1)) {
    ++lines;
    EXPECT_NE(listed.out.find(".txt", at), std::string::npos) << listed.out;
  }
  EXPECT_EQ(lines, int64_t(cv.at("best").at("errors"))) << listed.out;
  const size_t counts = listed.out.find("errors by folder: ");
  ASSERT_NE(counts, std::string::npos) << listed.out;
  for (const char* group : {"easy-ham-1 ", "easy-ham-2 ", "hard-ham-1 ", "spam-1 ", "spam-2 "}) {
    const size_t g = listed.out.find(group, counts);
    if (g != std::string::npos) by_folder += std::stoll(listed.out.substr(g + std::strlen(group)));
  }
  EXPECT_EQ(by_folder, lines) << listed.out;
  const Result no_run = shell(mix + dir + "/nothing");
  EXPECT_NE(no_run.status, 0);
  EXPECT_NE(no_run.out.find("oof_mix: no folder"), std::string::npos) << no_run.out;

  const Result again = shell(script + cfg + " " + out);
  ASSERT_EQ(again.status, 0) << again.out;
  EXPECT_NE(again.out.find("fold 2: trained already"), std::string::npos) << again.out;
  EXPECT_EQ(nlohmann::json::parse(slurp(out + "/cv.json")).at("last"), cv.at("last"));

  const Result bad = run("train --config " + cfg + " --out " + dir + "/bad --set data.folds=3 " +
                         "--set data.fold=3");
  EXPECT_EQ(bad.status, 1) << bad.out;  // a config error, before the corpus is read
  EXPECT_NE(bad.out.find("data.fold 3 of data.folds 3"), std::string::npos) << bad.out;
}
