// The commands task end to end through the CLI: a short training run on four words learns (test
// accuracy on held-out espeak-ng voices and on flite's voices above a bar), and `focus predict`
// names the word in a sound file and draws where the model listened.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "focus/audio.h"
#include "focus/image.h"
#include "focus/speech.h"
#include "focus/train.h"
#include "test_util.h"

namespace focus {
namespace {

namespace fs = std::filesystem;

using Result = ::focus::test::CliResult;
const auto& run = ::focus::test::run_cli;

const std::string kData = std::string(" --config ") + FOCUS_SPEECH_CONFIG +
                          " --set data.cache=" + FOCUS_SPEECH_CACHE + " --threads 2 --quiet";

TEST(SpeechLearning, FourWordsFromSynthesisedVoicesAndPredict) {
  const auto start = std::chrono::steady_clock::now();
  const test::ScratchDir scratch("speech_train");
  const std::string out = scratch.str();
  const Result r = run("train" + kData + " --out " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("speech: synthesised"), std::string::npos)
      << "the setup test should have made the corpus:\n"
      << r.out;
  std::ifstream f(out + "/report.json");
  ASSERT_TRUE(f.good()) << r.out;
  const nlohmann::json report = nlohmann::json::parse(f);
  const auto& groups = report.at("test").at("groups");
  const double espeak = groups.at("espeak-ng").at("accuracy"),
               flite = groups.at("flite").at("accuracy");
  std::printf(
      "four words + silence: test %.2f%%, held-out espeak-ng %.2f%%, flite %.2f%% (%.1f s)\n",
      100.0 * double(report.at("test").at("accuracy")), 100.0 * espeak, 100.0 * flite,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  // Chance is 1/5. Unseen voices of the training engine are easier than another engine's.
  EXPECT_GT(espeak, 0.75) << r.out;
  EXPECT_GT(flite, 0.6) << r.out;

  // Each flite speaker is evaluated on its own; together they must make up the group.
  const auto& by_speaker = groups.at("flite").at("per_speaker");
  EXPECT_EQ(by_speaker.size(), 5u) << by_speaker.dump();
  double right_clips = 0;
  int64_t clips = 0;
  for (const auto& [who, s] : by_speaker.items()) {
    right_clips += double(s.at("accuracy")) * double(s.at("examples"));
    clips += int64_t(s.at("examples"));
  }
  EXPECT_EQ(clips, int64_t(groups.at("flite").at("examples")));
  EXPECT_NEAR(right_clips / double(clips), flite, 1e-9);
  // The group's confusion counts every clip once, its diagonal the right ones.
  const auto& confusion = groups.at("flite").at("confusion");
  ASSERT_EQ(confusion.size(), report.at("classes").size());
  int64_t cells = 0, diagonal = 0;
  for (size_t c = 0; c < confusion.size(); ++c)
    for (size_t j = 0; j < confusion[c].size(); ++j) {
      cells += int64_t(confusion[c][j]);
      if (c == j) diagonal += int64_t(confusion[c][j]);
    }
  EXPECT_EQ(cells, clips);
  EXPECT_NEAR(double(diagonal) / double(cells), flite, 1e-6);  // accuracy is a float
  // Validation by voice group: the groups make up the split.
  const auto& validation = report.at("validation");
  double right_validation = 0;
  int64_t validation_clips = 0;
  for (const auto& [group, g] : validation.at("groups").items()) {
    right_validation += double(g.at("accuracy")) * double(g.at("examples"));
    validation_clips += int64_t(g.at("examples"));
  }
  EXPECT_EQ(validation_clips, int64_t(validation.at("examples")));
  EXPECT_NEAR(right_validation / double(validation_clips), double(validation.at("accuracy")), 1e-6);
  EXPECT_GT(double(validation.at("accuracy")), 0.5);

  // eval --report evaluates the best model again and writes the same report; it is for the test
  // split only.
  fs::remove(out + "/report.json");
  const Result ev = run("eval " + out + " --report --threads 2");
  ASSERT_EQ(ev.status, 0) << ev.out;
  EXPECT_NE(ev.out.find("by speaker: kal "), std::string::npos) << ev.out;
  std::ifstream again(out + "/report.json");
  ASSERT_TRUE(again.good()) << ev.out;
  const nlohmann::json rewritten = nlohmann::json::parse(again);
  EXPECT_EQ(rewritten.at("test"), report.at("test"));
  EXPECT_EQ(rewritten.at("validation"), report.at("validation"));
  // The ensemble's report (here the model twice) is the model's own, in --out, naming the members.
  const Result ens = run("eval " + out + " " + out + " --report --out " + out + "/ens --threads 2");
  ASSERT_EQ(ens.status, 0) << ens.out;
  std::ifstream ens_file(out + "/ens/report.json");
  ASSERT_TRUE(ens_file.good()) << ens.out;
  const nlohmann::json ens_report = nlohmann::json::parse(ens_file);
  EXPECT_EQ(ens_report.at("members"), nlohmann::json::array({out, out}));
  EXPECT_NEAR(double(ens_report.at("test").at("groups").at("flite").at("accuracy")), flite, 1e-9);
  EXPECT_NEAR(double(ens_report.at("validation").at("accuracy")), double(validation.at("accuracy")),
              1e-9);
  // Test-time views. The identity view (0 ms, warp 1) is the plain evaluation, probability for
  // probability.
  const Result plain = run("eval " + out + " --threads 2 --probabilities " + out + "/plain.csv");
  const Result identity = run("eval " + out + " --shifts 0 --warps 1 --threads 2 --probabilities " +
                              out + "/identity.csv");
  ASSERT_EQ(plain.status, 0) << plain.out;
  ASSERT_EQ(identity.status, 0) << identity.out;
  const auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string plain_csv = slurp(out + "/plain.csv");
  EXPECT_GT(plain_csv.size(), 100u);
  // Each row names its clip's voice (source): as many flite and espeak-ng rows as the report's
  // groups have clips.
  EXPECT_EQ(plain_csv.substr(0, plain_csv.find('\n')).rfind(",source"),
            plain_csv.find('\n') - std::string(",source").size());
  auto rows_of = [&](const std::string& engine) {
    int64_t n = 0;
    for (size_t at = plain_csv.find("," + engine + ":"); at != std::string::npos;
         at = plain_csv.find("," + engine + ":", at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(rows_of("flite"), int64_t(groups.at("flite").at("examples")));
  EXPECT_EQ(rows_of("espeak-ng"), int64_t(groups.at("espeak-ng").at("examples")));
  EXPECT_NE(plain_csv.find(" speed="), std::string::npos);
  EXPECT_EQ(slurp(out + "/identity.csv"), plain_csv);
  // Six views (three shifts by two warps): the report records them, and averaging over views of
  // the kind training saw keeps the model's figures.
  const Result views = run("eval " + out + " --shifts=-40,0,40 --warps 0.95,1.05 --report --out " +
                           out + "/views --threads 2 --probabilities " + out + "/views.csv");
  ASSERT_EQ(views.status, 0) << views.out;
  EXPECT_NE(views.out.find("test-time views: 6 per example"), std::string::npos) << views.out;
  EXPECT_NE(slurp(out + "/views.csv"), plain_csv);
  std::ifstream views_file(out + "/views/report.json");
  ASSERT_TRUE(views_file.good()) << views.out;
  const nlohmann::json views_report = nlohmann::json::parse(views_file);
  EXPECT_EQ(views_report.at("views").at("shifts_ms"), nlohmann::json::array({-40.0, 0.0, 40.0}));
  EXPECT_EQ(views_report.at("views").at("warps"), nlohmann::json::array({0.95, 1.05}));
  EXPECT_GT(double(views_report.at("test").at("groups").at("espeak-ng").at("accuracy")),
            espeak - 0.1);
  EXPECT_GT(double(views_report.at("test").at("groups").at("flite").at("accuracy")), flite - 0.1);
  const Result mirror = run("eval " + out + " --mirror");
  EXPECT_EQ(mirror.status, 1) << mirror.out;
  EXPECT_NE(mirror.out.find("--mirror is for image models"), std::string::npos) << mirror.out;

  const Result wrong = run("eval " + out + " --report --split validation");
  EXPECT_EQ(wrong.status, 1) << wrong.out;
  EXPECT_NE(wrong.out.find("--report is for the test split"), std::string::npos) << wrong.out;

  // espeak-ng's plain en-us voice (no variant: a speaker in no split) says each word; the CLI
  // reads each from a WAV file and must get most of them right.
  int right = 0;
  for (const std::string word : {"yes", "no", "up", "down"}) {
    const speech::Voice v{"espeak-ng", "en-us", "default", "check", 1.0, 1.0};
    audio::write_audio(out + "/" + word + ".wav", speech::synthesize(v, word), 16000);
    const Result p = run("predict " + out + " " + out + "/" + word + ".wav --top 1");
    ASSERT_EQ(p.status, 0) << p.out;
    right += p.out.rfind(word + " ", 0) == 0;
  }
  EXPECT_GE(right, 3);

  // A flite voice says "yes" in 1.75 s of FLAC: one line per class (--top 3), best first, and
  // the attention picture beneath the spectrogram.
  speech::Voice slt{"flite", "slt", "slt", "flite", 1.0, 1.0};
  std::vector<float> wave = speech::synthesize(slt, "yes");
  std::vector<float> padded(8000, 0.0f);
  padded.insert(padded.end(), wave.begin(), wave.end());
  padded.resize(padded.size() + 8000, 0.0f);
  audio::write_audio(out + "/yes.flac", padded, 16000);
  const Result p =
      run("predict " + out + " " + out + "/yes.flac --top 3 --attention " + out + "/yes.png");
  ASSERT_EQ(p.status, 0) << p.out;
  double total = 0;
  int lines = 0;
  for (size_t at = 0; at < p.out.size() && lines < 3; at = p.out.find('\n', at) + 1, ++lines) {
    char name[64];
    double pct = 0;
    ASSERT_EQ(std::sscanf(p.out.c_str() + at, "%63s %lf%%", name, &pct), 2) << p.out;
    total += pct;
  }
  EXPECT_EQ(lines, 3);
  EXPECT_GT(total, 50.0);
  EXPECT_NE(p.out.find("loudest second"), std::string::npos) << p.out;
  const Image png = read_image(out + "/yes.png");
  EXPECT_EQ(png.width, 98 * 6);
  EXPECT_GT(png.height, 40 * 4);

  const Result bad =
      run("predict " + out + " " + std::string(FOCUS_FIXTURES) + "/speech/truncated.wav");
  EXPECT_EQ(bad.status, 2) << bad.out;
  EXPECT_NE(bad.out.find("truncated.wav is truncated"), std::string::npos) << bad.out;
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

TEST(SpeechLearning, AugmentedTrainingIsDeterministic) {
  // Same seed and threads: the same bits, augmentation (drawn per example in the loader's thread)
  // included.
  const test::ScratchDir scratch_a("speech_det"), scratch_b("speech_det");
  const std::string a = scratch_a.str(), b = scratch_b.str();
  const std::string args =
      "train" + kData +
      " --epochs 1 --set data.augment.enabled=true --set data.augment.reverb_p=0.5"
      " --set data.augment.tempo_p=0.5 --set data.augment.pitch_p=0.5"
      " --set data.augment.lowpass_p=0.5 --set data.augment.vtlp=0.1 --set data.augment.eq_db=4"
      " --set data.augment.freq_masks=1 --set data.augment.freq_width=4"
      " --set data.augment.time_masks=1 --set data.augment.time_width=5"
      " --set data.clip_norm=mean --out ";
  const Result ra = run(args + a), rb = run(args + b);
  ASSERT_EQ(ra.status, 0) << ra.out;
  ASSERT_EQ(rb.status, 0) << rb.out;
  const std::string ca = read_bytes(a + "/last.safetensors"),
                    cb = read_bytes(b + "/last.safetensors");
  ASSERT_GT(ca.size(), 1000u);
  EXPECT_TRUE(ca == cb) << "two runs with the same seed differ";
}

// configs/commands.json's model kind, keyword_transformer with the conv front (smaller: dim 32,
// one block), on the same corpus and schedule as the baseline above: it learns, its tokens come
// from the convolution (the checkpoint holds conv.weight [D,M,K] and no proj), and predict draws
// its class token's attention over time.
TEST(SpeechLearning, KeywordTransformerWithTheConvFrontLearns) {
  const test::ScratchDir scratch("speech_kws");
  const std::string out = scratch.str();
  nlohmann::json config = nlohmann::json::parse(std::ifstream(FOCUS_SPEECH_CONFIG));
  config["model"] = {{"kind", "keyword_transformer"},
                     {"front", "conv"},
                     {"kernel", 5},
                     {"patch", 2},
                     {"dim", 32},
                     {"depth", 1},
                     {"heads", 2},
                     {"mlp_ratio", 2}};
  const std::string path = out + "/config.in.json";
  std::ofstream(path) << config.dump();
  const Result r = run("train --config " + path + " --set data.cache=" + FOCUS_SPEECH_CACHE +
                       " --threads 2 --quiet --out " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  const nlohmann::json report = nlohmann::json::parse(std::ifstream(out + "/report.json"));
  const auto& groups = report.at("test").at("groups");
  const double espeak = groups.at("espeak-ng").at("accuracy"),
               flite = groups.at("flite").at("accuracy");
  std::printf("keyword_transformer, conv front: held-out espeak-ng %.2f%%, flite %.2f%%\n",
              100.0 * espeak, 100.0 * flite);
  EXPECT_GT(espeak, 0.75) << r.out;  // chance is 1/5
  EXPECT_GT(flite, 0.45) << r.out;   // 60-68% over seeds 1-3 on Zen 4

  const train::Checkpoint ck = train::load_checkpoint(out + "/best.safetensors");
  ASSERT_TRUE(ck.model.count("conv.weight")) << "no convolution in the model";
  EXPECT_EQ(ck.model.at("conv.weight").shape(), Shape({32, 40, 5}));
  EXPECT_EQ(ck.model.count("proj.weight"), 0u);

  speech::Voice v{"espeak-ng", "en-us", "default", "check", 1.0, 1.0};
  audio::write_audio(out + "/up.wav", speech::synthesize(v, "up"), 16000);
  const Result p = run("predict " + out + " " + out + "/up.wav --attention " + out + "/up.png");
  ASSERT_EQ(p.status, 0) << p.out;
  EXPECT_NE(p.out.find("attention peaks at"), std::string::npos) << p.out;
  EXPECT_EQ(read_image(out + "/up.png").width, 98 * 6);
}

TEST(SpeechLearning, ConfigMistakesAreOneLineErrors) {
  const test::ScratchDir scratch("speech_bad");
  const std::string out = scratch.str();
  Result r = run("train" + kData + " --out " + out + " --set data.words=yes,banana");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("'banana' is not a command word"), std::string::npos) << r.out;
  r = run("train" + kData + " --out " + out + " --set data.augment.echo=1");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("data.augment.echo"), std::string::npos) << r.out;
  r = run("train" + kData + " --out " + out + " --set data.clip_norm=cmvn");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("data.clip_norm: 'cmvn'"), std::string::npos) << r.out;
  r = run("train" + kData + " --out " + out + " --set model.kernel=4");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("model.kernel 4 must be odd"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace focus
