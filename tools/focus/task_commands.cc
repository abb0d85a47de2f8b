// The commands task: spoken command words from a synthetic corpus (focus/speech.h), log-mel
// features standardised per band with statistics fitted on the training split and kept in the
// model directory. Predict reads a sound file; report gives accuracy per test voice group.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "app.h"
#include "focus/audio.h"
#include "focus/io/safetensors.h"
#include "focus/metrics.h"
#include "focus/speech.h"
#include "focus/viz.h"

namespace focus::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFeatureFile = "features.safetensors";
// Test voice groups: held-out espeak-ng speakers, and flite's voices (another engine).
const std::vector<std::pair<std::string, std::string>> kGroups = {
    {"espeak-ng", "held-out espeak-ng voices"}, {"flite", "flite voices (unseen engine)"}};

std::string default_cache() {
  const char* env = std::getenv("FOCUS_CACHE");
  return env != nullptr && *env ? (fs::path(env) / "speech").string() : ".cache/speech";
}

speech::AugmentOptions read_augment(config::Reader& r, bool& enabled) {
  speech::AugmentOptions a;
  enabled = r.boolean("enabled", true);
  a.shift = float(r.number("shift", a.shift, 0.0, 0.5));
  a.noise_p = float(r.number("noise_p", a.noise_p, 0.0, 1.0));
  a.snr_min = float(r.number("snr_min", a.snr_min, -20.0, 100.0));
  a.snr_max = float(r.number("snr_max", a.snr_max, -20.0, 100.0));
  a.speed_p = float(r.number("speed_p", a.speed_p, 0.0, 1.0));
  a.speed = float(r.number("speed", a.speed, 0.0, 0.5));
  a.tempo_p = float(r.number("tempo_p", a.tempo_p, 0.0, 1.0));
  a.tempo = float(r.number("tempo", a.tempo, 0.0, 0.5));
  a.pitch_p = float(r.number("pitch_p", a.pitch_p, 0.0, 1.0));
  a.pitch = float(r.number("pitch", a.pitch, 0.0, 12.0));
  a.gain_db = float(r.number("gain_db", a.gain_db, 0.0, 40.0));
  a.reverb_p = float(r.number("reverb_p", a.reverb_p, 0.0, 1.0));
  a.lowpass_p = float(r.number("lowpass_p", a.lowpass_p, 0.0, 1.0));
  a.lowpass_min = float(r.number("lowpass_min", a.lowpass_min, 1000.0, 8000.0));
  a.vtlp = float(r.number("vtlp", a.vtlp, 0.0, 0.4));
  a.eq_db = float(r.number("eq_db", a.eq_db, 0.0, 30.0));
  a.freq_masks = r.integer("freq_masks", a.freq_masks, 0, 10);
  a.freq_width = r.integer("freq_width", a.freq_width, 0, 40);
  a.time_masks = r.integer("time_masks", a.time_masks, 0, 10);
  a.time_width = r.integer("time_width", a.time_width, 0, 50);
  if (a.snr_min > a.snr_max)
    throw config::ConfigError(
        detail::cat("config: data.augment.snr_min ", a.snr_min, " must be <= snr_max ", a.snr_max));
  r.finish();
  return a;
}

// One second of 16 kHz audio from a recording: the loudest second when it is longer, then the
// speech in it trimmed and centred as the corpus's clips are.
std::vector<float> clip_of(const std::vector<float>& wave, int64_t* start_out) {
  const int64_t n = int64_t(wave.size()), len = speech::kClipSamples;
  int64_t start = 0;
  if (n > len) {
    std::vector<double> energy(size_t(n) + 1, 0.0);  // prefix sums
    for (int64_t i = 0; i < n; ++i)
      energy[size_t(i + 1)] = energy[size_t(i)] + double(wave[size_t(i)]) * wave[size_t(i)];
    double best = -1.0;
    for (int64_t s = 0; s + len <= n; s += 160) {
      const double e = energy[size_t(s + len)] - energy[size_t(s)];
      if (e > best) best = e, start = s;
    }
  }
  *start_out = start;
  const std::vector<float> part(wave.begin() + start, wave.begin() + std::min(n, start + len));
  return speech::place(part, len);
}

// The evaluation of the examples `idx` of `ev` (example i is clip i), from its probabilities.
train::Evaluation subset(const train::Evaluation& ev, const std::vector<int64_t>& idx) {
  std::vector<float> p;
  std::vector<int32_t> y;
  for (int64_t i : idx) {
    const float* row = ev.probabilities.data() + i * ev.classes;
    p.insert(p.end(), row, row + ev.classes);
    y.push_back(ev.labels[size_t(i)]);
  }
  return train::evaluation_from(std::move(p), std::move(y), ev.classes);
}

class CommandsTask : public Task {
 public:
  Splits load(config::Reader& r, const TaskContext& ctx) const override {
    speech::CorpusOptions o;
    o.seed = uint64_t(r.integer("seed", 1, 0));
    o.words = config::split_list(r.string("words", ""));
    o.unknown = r.boolean("unknown", true);
    o.silence = r.boolean("silence", true);
    o.train_voices = r.integer("train_voices", o.train_voices, 1, 100000);
    o.validation_voices = r.integer("validation_voices", o.validation_voices, 1, 100000);
    o.test_voices = r.integer("test_voices", o.test_voices, 0, 100000);
    o.validation_speakers = r.integer("validation_speakers", o.validation_speakers, 1, 1000);
    o.test_speakers = r.integer("test_speakers", o.test_speakers, 1, 1000);
    o.flite_takes = r.integer("flite_takes", o.flite_takes, 0, 1000);
    o.festival_train_voices =
        r.integer("festival_train_voices", o.festival_train_voices, 0, 100000);
    o.festival_speakers = config::split_list(r.string("festival_speakers", "kd"));
    o.festival_validation_voices =
        r.integer("festival_validation_voices", o.festival_validation_voices, 0, 100000);
    o.festival_validation_speakers =
        config::split_list(r.string("festival_validation_speakers", ""));
    o.validation_narrowband = r.number("validation_narrowband", o.validation_narrowband, 0.0, 1.0);
    o.unknown_per_voice = r.integer("unknown_per_voice", o.unknown_per_voice, 0, 100);
    o.silence_per_voice = r.integer("silence_per_voice", o.silence_per_voice, 0, 100);
    o.cache_dir = r.string("cache", default_cache());
    audio::LogMelOptions mo;
    mo.mels = r.integer("mels", 40, 40, 80);
    const speech::ClipNorm norm =
        speech::clip_norm_named(r.string("clip_norm", "none", {"none", "mean", "mean_var"}));
    norm_ = norm;
    config::Reader aug = r.object("augment");
    bool augment_on = true;
    const speech::AugmentOptions augment = read_augment(aug, augment_on);
    for (const std::string& w : o.words)
      if (std::find(speech::command_words().begin(), speech::command_words().end(), w) ==
          speech::command_words().end())
        throw config::ConfigError("config: data.words: '" + w +
                                  "' is not a command word (zero..nine, yes no up down left "
                                  "right on off stop go)");
    r.finish();  // a typo fails now, not after minutes of speech synthesis

    Splits s;
    s.class_names = o.words.empty() ? speech::command_words() : o.words;
    if (o.unknown && o.unknown_per_voice > 0) s.class_names.push_back(speech::kUnknown);
    if (o.silence && o.silence_per_voice > 0) s.class_names.push_back(speech::kSilence);
    auto mel = std::make_shared<const audio::LogMel>(mo);
    s.input = {{"classes", int64_t(s.class_names.size())},
               {"mels", mo.mels},
               {"frames", mel->frames(speech::kClipSamples)}};
    mel_ = mel;
    if (ctx.check_only) return s;
    if (!ctx.need_data) {
      standardizer_ = read_standardizer(ctx.model_dir);
      return s;
    }

    const speech::Corpus corpus = speech::make_corpus(o);
    if (!corpus.from_cache)
      std::printf("speech: synthesised %lld clips into %s/%s\n",
                  (long long)(corpus.train.size() + corpus.validation.size() + corpus.test.size()),
                  o.cache_dir.c_str(), corpus.key.c_str());
    auto train = std::make_shared<const speech::ClipSet>(corpus.train);
    auto validation = std::make_shared<const speech::ClipSet>(corpus.validation);
    auto test = std::make_shared<const speech::ClipSet>(corpus.test);
    std::shared_ptr<const data::Standardizer> standardizer;
    if (ctx.training) {
      // Statistics of the clean training features, per mel band.
      speech::FeatureDataset raw(train, mel);
      raw.set_clip_norm(norm);
      auto fitted = std::make_shared<data::Standardizer>(data::Standardizer::fit(raw));
      io::save_safetensors((fs::path(ctx.model_dir) / kFeatureFile).string(), fitted->state(),
                           {{"mels", std::to_string(mo.mels)}});
      standardizer = fitted;
    } else {
      standardizer = read_standardizer(ctx.model_dir);
    }
    standardizer_ = standardizer;
    auto features = [&](std::shared_ptr<const speech::ClipSet> clips) {
      auto d = std::make_shared<speech::FeatureDataset>(clips, mel);
      d->set_clip_norm(norm);
      d->set_standardizer(standardizer);
      return d;
    };
    s.validation = features(validation);
    s.test = features(test);
    if (ctx.training && augment_on) {
      s.train = std::make_shared<speech::WaveDataset>(train);
      s.augment = speech::augmentation_transform(augment, mel, standardizer, norm);
    } else {
      s.train = features(train);
    }
    return s;
  }

  int predict(const Loaded& l, const PredictOptions& opt) const override {
    FOCUS_CHECK(mel_ && standardizer_, "commands: the model directory's features are not loaded");
    const std::vector<float> wave = audio::load(opt.input, audio::kRate, 600.0);
    int64_t start = 0;
    const std::vector<float> clip = clip_of(wave, &start);
    const Tensor raw = (*mel_)(clip.data(), int64_t(clip.size()));  // [M,T]
    Tensor normalised = raw.clone();
    speech::normalize_clip(normalised, norm_);
    const Tensor x = (*standardizer_)(normalised);
    const int64_t mels = x.size(0), frames = x.size(1);
    autograd::NoGradGuard no_grad;
    attention::Capture capture;
    const Tensor probs = softmax((*l.model)(x.reshape({1, mels, frames})), -1);  // [1,C]
    const std::vector<float> p = probs.to_vector();
    std::vector<int> order(p.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = int(i);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
    const auto& names = l.splits.class_names;
    for (int i = 0; i < opt.top && i < int(order.size()); ++i)
      std::printf("%-10s %6.2f%%\n", names[size_t(order[i])].c_str(), 100.0 * p[order[i]]);
    if (int64_t(wave.size()) > speech::kClipSamples)
      std::printf(
          "(the recording is %.2f s long; the model heard its loudest second, from %.2f s)\n",
          double(wave.size()) / audio::kRate, double(start) / audio::kRate);
    if (opt.attention.empty()) return kOk;
    const std::vector<float> over_time =
        attention_over_frames(capture, frames, l.model->key_span());
    FOCUS_CHECK(!over_time.empty(), "predict: this model records no attention to draw");
    draw(raw, over_time, opt.attention);
    const int64_t peak =
        int64_t(std::max_element(over_time.begin(), over_time.end()) - over_time.begin());
    std::printf("attention peaks at %.2f s of the clip; wrote %s\n",
                double(peak * mel_->options().hop + mel_->options().window / 2) / audio::kRate,
                opt.attention.c_str());
    return kOk;
  }

  bool reports_ensembles() const override { return true; }

  // Every shift with every warp.
  std::vector<std::shared_ptr<const data::Dataset>> views(const Loaded& l, const std::string& split,
                                                          const Views& v) const override {
    if (v.mirror)
      throw config::ConfigError("--mirror is for image models; " + l.dir +
                                " is a speech model (its views: --shifts, --warps)");
    auto base = std::dynamic_pointer_cast<const speech::FeatureDataset>(l.splits.named(split));
    FOCUS_CHECK(base != nullptr, "commands: the ", split, " split is not a feature data set");
    std::vector<std::shared_ptr<const data::Dataset>> out;
    for (double ms : v.shifts_heard())
      for (double warp : v.warps_heard())
        out.push_back(base->viewed({.shift = ms / 1000.0, .warp = warp}));
    return out;
  }

  void report(const Report& r) const override {
    const Loaded& l = *r.members.front();
    const train::Evaluation& test = r.test;
    auto features = std::dynamic_pointer_cast<const speech::FeatureDataset>(l.splits.test);
    FOCUS_CHECK(features != nullptr, "commands: the test split is not a feature data set");
    FOCUS_CHECK(test.examples == features->clips().size() &&
                    int64_t(test.probabilities.size()) == test.examples * test.classes,
                "commands: the report needs the test split's probabilities of every clip");
    // Groups and speakers are scored from the test evaluation's probabilities (example i is
    // clip i), not by running the model again.
    nlohmann::json groups = nlohmann::json::object();
    std::printf("test accuracy per voice group:\n");
    for (const auto& [group, title] : kGroups) {
      std::vector<int64_t> idx = features->clips().in_group(group);
      if (idx.empty()) continue;
      const train::Evaluation ev = subset(test, idx);
      std::printf("  %-34s %6.2f%% of %lld clips\n", title.c_str(), 100.0 * ev.accuracy,
                  (long long)ev.examples);
      nlohmann::json per_class = nlohmann::json::object();
      for (int64_t c = 0; c < ev.classes; ++c) {
        int64_t row = 0;
        for (int64_t j = 0; j < ev.classes; ++j) row += ev.confusion[size_t(c * ev.classes + j)];
        if (row > 0)
          per_class[l.splits.class_names[size_t(c)]] =
              double(ev.confusion[size_t(c * ev.classes + c)]) / double(row);
      }
      // Which words are heard as which: the confusion of the group, and its largest cells.
      nlohmann::json confusion = nlohmann::json::array();
      std::vector<std::pair<int64_t, std::pair<int64_t, int64_t>>> mistakes;  // count, (true, said)
      for (int64_t c = 0; c < ev.classes; ++c) {
        std::vector<int64_t> row(ev.confusion.begin() + c * ev.classes,
                                 ev.confusion.begin() + (c + 1) * ev.classes);
        for (int64_t j = 0; j < ev.classes; ++j)
          if (j != c && row[size_t(j)] > 0) mistakes.push_back({row[size_t(j)], {c, j}});
        confusion.push_back(row);
      }
      std::stable_sort(mistakes.begin(), mistakes.end(),
                       [](const auto& a, const auto& b) { return a.first > b.first; });
      std::string worst;
      for (size_t k = 0; k < std::min<size_t>(mistakes.size(), 5); ++k) {
        const auto& [n, tp] = mistakes[k];
        worst += (worst.empty() ? "" : ", ") + l.splits.class_names[size_t(tp.first)] + " as " +
                 l.splits.class_names[size_t(tp.second)] + " " + std::to_string(n);
      }
      if (!worst.empty()) std::printf("    most confused: %s\n", worst.c_str());
      // Per speaker too: one voice of another engine can fail where the others pass.
      std::vector<std::string> speakers;
      std::map<std::string, std::vector<int64_t>> of_speaker;
      for (int64_t i : idx) {
        const speech::Voice& v =
            features->clips().voices[size_t(features->clips().voice[size_t(i)])];
        if (!of_speaker.count(v.speaker)) speakers.push_back(v.speaker);
        of_speaker[v.speaker].push_back(i);
      }
      nlohmann::json per_speaker = nlohmann::json::object();
      std::string line;
      for (const std::string& who : speakers) {
        const train::Evaluation pe = subset(test, of_speaker[who]);
        const double acc = pe.accuracy;
        per_speaker[who] = {{"accuracy", acc}, {"examples", pe.examples}};
        char buf[64];
        std::snprintf(buf, sizeof buf, "%s%s %.1f%%", line.empty() ? "" : ", ", who.c_str(),
                      100.0 * acc);
        line += buf;
      }
      if (speakers.size() <= 8) std::printf("    by speaker: %s\n", line.c_str());
      groups[group] = {{"title", title},          {"accuracy", ev.accuracy},
                       {"examples", ev.examples}, {"per_class", per_class},
                       {"confusion", confusion},  {"per_speaker", per_speaker}};
    }
    // Validation by voice group too (full band, 8 kHz, festival speakers that never train): what
    // model choice saw, condition by condition.
    nlohmann::json validation = nlohmann::json::object();
    auto held = std::dynamic_pointer_cast<const speech::FeatureDataset>(l.splits.validation);
    if (held != nullptr) {
      const train::Evaluation ev = evaluate_members(r, "validation");
      std::vector<std::string> names;
      for (const speech::Voice& v : held->clips().voices)
        if (std::find(names.begin(), names.end(), v.group) == names.end()) names.push_back(v.group);
      nlohmann::json vgroups = nlohmann::json::object();
      std::string line;
      for (const std::string& g : names) {
        const train::Evaluation ge = subset(ev, held->clips().in_group(g));
        vgroups[g] = {{"accuracy", ge.accuracy}, {"examples", ge.examples}};
        char buf[96];
        std::snprintf(buf, sizeof buf, "%s%s %.2f%% of %lld", line.empty() ? "" : ", ", g.c_str(),
                      100.0 * ge.accuracy, (long long)ge.examples);
        line += buf;
      }
      std::printf("validation accuracy per voice group: %s\n", line.c_str());
      validation = {{"accuracy", ev.accuracy},
                    {"loss", ev.loss},
                    {"examples", ev.examples},
                    {"groups", vgroups}};
    }
    nlohmann::json out = {{"task", "commands"},
                          {"classes", l.splits.class_names},
                          {"test",
                           {{"accuracy", test.accuracy},
                            {"loss", test.loss},
                            {"examples", test.examples},
                            {"groups", groups}}},
                          {"validation", validation}};
    if (r.members.size() > 1) out["members"] = member_dirs(r);
    if (!r.views.none()) out["views"] = r.views.json();
    const std::string path = (fs::path(r.dir) / "report.json").string();
    write_text_atomic(path, out.dump(2) + "\n");
    std::printf("wrote %s\n", path.c_str());
  }

 private:
  static std::shared_ptr<const data::Standardizer> read_standardizer(const std::string& dir) {
    const std::string path = (fs::path(dir) / kFeatureFile).string();
    FOCUS_CHECK(fs::exists(path), "commands: ", path,
                " is missing: the feature statistics are written by focus train");
    return std::make_shared<const data::Standardizer>(
        data::Standardizer::from_state(io::load_safetensors(path).tensors));
  }

  // Where the model looked, per frame [T], summing to 1: the soft-attention weights, or the class
  // token's row of the last encoder layer averaged over heads, each token's share spread over the
  // frames it reads (models::KeySpan).
  static std::vector<float> attention_over_frames(const attention::Capture& capture, int64_t frames,
                                                  models::KeySpan span) {
    if (capture.maps().empty()) return {};
    const Tensor m = capture.maps().back().probs.contiguous();  // [1,H,Nq,Nk]
    const int64_t h = m.size(1), nq = m.size(2), nk = m.size(3);
    const bool cls = nq == nk && nk >= 2;  // self-attention with the class token at position 0
    const int64_t tokens = cls ? nk - 1 : nk, first = cls ? 1 : 0;
    std::vector<float> keys(size_t(tokens), 0.0f);  // [N]
    for (int64_t k = 0; k < tokens; ++k) {
      double v = 0.0;
      for (int64_t head = 0; head < h; ++head) v += m.data()[(head * nq) * nk + first + k];
      keys[size_t(k)] = float(v / double(h));
    }
    return models::spread_over_positions(keys, frames, span);
  }

  // The spectrogram (low frequencies at the bottom) above the attention over time as bars.
  static void draw(const Tensor& logmel, const std::vector<float>& a, const std::string& path) {
    const int64_t mels = logmel.size(0), frames = logmel.size(1);
    constexpr int64_t kX = 6, kY = 4, kBars = 90, kGap = 6;
    Tensor flipped = make_tensor({mels, frames});
    for (int64_t m = 0; m < mels; ++m)
      for (int64_t t = 0; t < frames; ++t)
        flipped.data()[m * frames + t] = logmel.data()[(mels - 1 - m) * frames + t];
    float lo = 1e30f, hi = -1e30f;
    for (float v : flipped.to_vector()) lo = std::min(lo, v), hi = std::max(hi, v);
    lo = std::max(lo, hi - 12.0f);  // 12 nats of dynamic range, so the noise floor stays dark
    viz::Canvas canvas(mels * kY + kGap + kBars, frames * kX);
    canvas.draw(viz::heatmap(flipped, lo, hi, viz::inferno), 0, 0, mels * kY, frames * kX);
    const float top = *std::max_element(a.begin(), a.end());
    const int64_t y0 = mels * kY + kGap;
    Tensor strip = make_tensor({1, frames});
    for (int64_t t = 0; t < frames; ++t) strip.data()[t] = a[size_t(t)];
    canvas.draw(viz::heatmap(strip, 0.0f, top, viz::viridis), y0, 0, kBars / 3, frames * kX);
    for (int64_t t = 0; t < frames; ++t) {
      const int64_t bar =
          top > 0.0f ? int64_t(std::lround(a[size_t(t)] / top * (kBars * 2 / 3 - 2))) : 0;
      canvas.fill(y0 + kBars - bar, t * kX, bar, kX - 1, {40, 40, 160});
    }
    canvas.line(double(y0 + kBars - 1), 0, double(y0 + kBars - 1), double(frames * kX - 1),
                {0, 0, 0});
    canvas.save(path);
  }

  // Read by load() and used by predict()/report() of the same process (one model per process).
  mutable std::shared_ptr<const audio::LogMel> mel_;
  mutable std::shared_ptr<const data::Standardizer> standardizer_;
  mutable speech::ClipNorm norm_ = speech::ClipNorm::none;
};

}  // namespace

std::unique_ptr<Task> make_commands_task() { return std::make_unique<CommandsTask>(); }

}  // namespace focus::cli
