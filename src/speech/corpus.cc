// The synthetic spoken-command corpus: voices chosen by seed, speakers partitioned between splits,
// each word synthesised, trimmed and placed in a one-second clip; kept in a cache file.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include "focus/error.h"
#include "focus/speech.h"
#include "speech/draw.h"

namespace focus::speech {
namespace {

using data::detail::mix64;
using detail::Draw;

// Bumped whenever what make_corpus produces for the same options changes.
constexpr int kVersion = 1;
constexpr char kMagic[] = "FOCUS-SPEECH-CORPUS\n";

std::vector<float> noise_clip(Draw& d) {
  std::vector<float> x(size_t(kClipSamples), 0.0f);
  const double db = d.uniform(-70.0, -25.0);
  const int colour = int(d.below(3));
  Generator g(d.gen.bits(d.gen.advance(1)));
  add_noise(x, colour, 0.0f, g);  // unit RMS noise at "0 dB" of a silent clip
  const float scale = float(std::pow(10.0, db / 20.0));
  for (float& v : x) v *= scale;
  return x;
}

void append(ClipSet& set, const std::vector<float>& clip, int32_t label, int32_t voice) {
  for (float v : clip)
    set.pcm.push_back(int16_t(std::clamp(std::lround(double(v) * 32767.0), -32768l, 32767l)));
  set.labels.push_back(label);
  set.voice.push_back(voice);
}

struct Plan {
  std::vector<std::string> words, unknown_pool;
  int32_t unknown_label = -1, silence_label = -1;
};

void render(ClipSet& set, const Plan& plan, const CorpusOptions& opt, Draw& d) {
  for (size_t v = 0; v < set.voices.size(); ++v) {
    const Voice& voice = set.voices[v];
    // festival starts a process per call, so it says the whole vocabulary at once.
    std::map<std::string, std::vector<float>> said;
    if (voice.engine == "festival") {
      std::vector<std::string> vocab = plan.words;
      if (plan.unknown_label >= 0)
        vocab.insert(vocab.end(), plan.unknown_pool.begin(), plan.unknown_pool.end());
      std::vector<std::vector<float>> waves = synthesize_all(voice, vocab);
      for (size_t i = 0; i < vocab.size(); ++i) said[vocab[i]] = std::move(waves[i]);
    }
    auto say = [&](const std::string& word, int32_t label) {
      const auto it = said.find(word);
      std::vector<float> wave = it != said.end() ? it->second : synthesize(voice, word);
      float peak = 0.0f;
      for (float s : wave) peak = std::max(peak, std::abs(s));
      const float gain = peak > 0.0f ? float(d.uniform(0.3, 0.9)) / peak : 0.0f;
      for (float& s : wave) s *= gain;
      const int64_t offset = int64_t(std::lround(d.uniform(-0.05, 0.05) * audio::kRate));
      append(set, place(wave, kClipSamples, offset), label, int32_t(v));
    };
    for (size_t w = 0; w < plan.words.size(); ++w) say(plan.words[w], int32_t(w));
    if (plan.unknown_label >= 0)
      for (int64_t k = 0; k < opt.unknown_per_voice; ++k)
        say(plan.unknown_pool[size_t(d.below(int64_t(plan.unknown_pool.size())))],
            plan.unknown_label);
    if (plan.silence_label >= 0)
      for (int64_t k = 0; k < opt.silence_per_voice; ++k)
        append(set, noise_clip(d), plan.silence_label, int32_t(v));
  }
}

// A `fraction` of the voices, spread evenly, heard through an 8 kHz channel (nothing above 4 kHz,
// as in telephone or 8 kHz recordings, which predict accepts); their group gets "-8k".
void narrow_band(ClipSet& set, double fraction) {
  if (fraction <= 0.0) return;
  std::vector<bool> narrow(set.voices.size(), false);
  for (size_t v = 0; v < set.voices.size(); ++v) {
    narrow[v] = std::floor(double(v + 1) * fraction) > std::floor(double(v) * fraction);
    if (narrow[v]) set.voices[v].group += "-8k";
  }
  for (int64_t i = 0; i < set.size(); ++i) {
    if (!narrow[size_t(set.voice[size_t(i)])]) continue;
    const std::vector<float> y = band_limit(set.wave(i), 4000.0);
    int16_t* p = set.pcm.data() + i * kClipSamples;
    for (int64_t k = 0; k < kClipSamples; ++k)
      p[k] = int16_t(std::clamp(std::lround(double(y[size_t(k)]) * 32768.0), -32768l, 32767l));
  }
}

std::vector<Voice> espeak_voices(const std::vector<std::string>& speakers, int64_t count,
                                 const std::string& group, Draw& d) {
  std::vector<Voice> voices;
  const auto& accents = espeak_accents();
  for (int64_t i = 0; i < count; ++i) {
    Voice v;
    v.engine = "espeak-ng";
    v.speaker = speakers[size_t(i) % speakers.size()];
    v.name = accents[size_t(d.below(int64_t(accents.size())))] + "+" + v.speaker;
    v.group = group;
    v.speed = d.uniform(0.75, 1.25);
    v.pitch = d.uniform(0.5, 1.5);
    voices.push_back(v);
  }
  return voices;
}

nlohmann::json voices_json(const std::vector<Voice>& voices) {
  nlohmann::json a = nlohmann::json::array();
  for (const Voice& v : voices)
    a.push_back({{"engine", v.engine},
                 {"name", v.name},
                 {"speaker", v.speaker},
                 {"group", v.group},
                 {"speed", v.speed},
                 {"pitch", v.pitch}});
  return a;
}

std::vector<Voice> voices_from(const nlohmann::json& a) {
  std::vector<Voice> voices;
  for (const auto& j : a)
    voices.push_back({j.at("engine"), j.at("name"), j.at("speaker"), j.at("group"), j.at("speed"),
                      j.at("pitch")});
  return voices;
}

template <typename T>
void write_vec(std::ofstream& f, const std::vector<T>& v) {
  f.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(T)));
}

template <typename T>
void read_vec(std::ifstream& f, std::vector<T>& v, size_t n, const std::string& path) {
  v.resize(n);
  f.read(reinterpret_cast<char*>(v.data()), std::streamsize(n * sizeof(T)));
  FOCUS_CHECK(f.good(), "speech: ", path, " is truncated (delete it to regenerate)");
}

void save(const Corpus& c, const std::string& path) {
  nlohmann::json h = {{"version", kVersion}, {"classes", c.classes}};
  const std::pair<const char*, const ClipSet*> sets[] = {
      {"train", &c.train}, {"validation", &c.validation}, {"test", &c.test}};
  for (const auto& [name, s] : sets)
    h[name] = {{"n", s->size()}, {"voices", voices_json(s->voices)}};
  const std::string text = h.dump();
  // Several trainings may build the same cached corpus at once; each writes its own temporary
  // file, and the last rename wins with identical content.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary);
    FOCUS_CHECK(f.good(), "speech: cannot create ", tmp);
    f.write(kMagic, std::streamsize(std::strlen(kMagic)));
    const uint64_t len = text.size();
    f.write(reinterpret_cast<const char*>(&len), sizeof len);
    f.write(text.data(), std::streamsize(len));
    for (const auto& [name, s] : sets) {
      write_vec(f, s->pcm);
      write_vec(f, s->labels);
      write_vec(f, s->voice);
    }
    f.flush();
    FOCUS_CHECK(f.good(), "speech: cannot write ", tmp, " (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  FOCUS_CHECK(!ec, "speech: cannot rename ", tmp, " to ", path, ": ", ec.message());
}

Corpus load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  FOCUS_CHECK(f.good(), "speech: cannot open ", path);
  std::string magic(std::strlen(kMagic), '\0');
  f.read(magic.data(), std::streamsize(magic.size()));
  FOCUS_CHECK(f.good() && magic == kMagic, "speech: ", path, " is not a corpus file");
  uint64_t len = 0;
  f.read(reinterpret_cast<char*>(&len), sizeof len);
  FOCUS_CHECK(f.good() && len < (1u << 30), "speech: ", path, " has a bad header");
  std::string text(len, '\0');
  f.read(text.data(), std::streamsize(len));
  FOCUS_CHECK(f.good(), "speech: ", path, " is truncated (delete it to regenerate)");
  Corpus c;
  try {
    const nlohmann::json h = nlohmann::json::parse(text);
    FOCUS_CHECK(h.at("version") == kVersion, "speech: ", path, " is of another version");
    c.classes = h.at("classes").get<std::vector<std::string>>();
    for (auto [name, s] : {std::pair<const char*, ClipSet*>{"train", &c.train},
                           {"validation", &c.validation},
                           {"test", &c.test}}) {
      const size_t n = h.at(name).at("n").get<size_t>();
      s->voices = voices_from(h.at(name).at("voices"));
      read_vec(f, s->pcm, n * size_t(kClipSamples), path);
      read_vec(f, s->labels, n, path);
      read_vec(f, s->voice, n, path);
      for (size_t i = 0; i < n; ++i)
        FOCUS_CHECK(s->labels[i] >= 0 && size_t(s->labels[i]) < c.classes.size() &&
                        s->voice[i] >= 0 && size_t(s->voice[i]) < s->voices.size(),
                    "speech: ", path, ": clip ", i, " of ", name, " has a bad label or voice");
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error("speech: " + path + " has a bad header: " + e.what());
  }
  return c;
}

}  // namespace

const std::vector<std::string>& command_words() {
  static const std::vector<std::string> w = {
      "zero", "one", "two", "three", "four", "five",  "six", "seven", "eight", "nine",
      "yes",  "no",  "up",  "down",  "left", "right", "on",  "off",   "stop",  "go"};
  return w;
}

const std::vector<std::string>& filler_words() {
  static const std::vector<std::string> w = {
      "bed",   "bird",  "cat",     "dog",      "happy",  "house", "marvin", "sheila",
      "tree",  "wow",   "forward", "backward", "follow", "learn", "visual", "apple",
      "water", "hello", "orange",  "music",    "window", "table", "green",  "paper"};
  return w;
}

std::vector<float> ClipSet::wave(int64_t i) const {
  FOCUS_CHECK(i >= 0 && i < size(), "speech: clip ", i, " of ", size());
  std::vector<float> x(static_cast<size_t>(kClipSamples));
  const int16_t* p = pcm.data() + i * kClipSamples;
  for (int64_t k = 0; k < kClipSamples; ++k) x[size_t(k)] = float(p[k]) / 32768.0f;
  return x;
}

std::vector<int64_t> ClipSet::in_group(const std::string& group) const {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < size(); ++i)
    if (voices[size_t(voice[size_t(i)])].group == group) out.push_back(i);
  return out;
}

std::vector<float> place(const std::vector<float>& speech, int64_t n, int64_t offset) {
  constexpr int64_t kFrame = 160;
  const int64_t len = int64_t(speech.size()), frames = (len + kFrame - 1) / kFrame;
  std::vector<double> rms(size_t(frames), 0.0);
  double loudest = 0.0;
  for (int64_t f = 0; f < frames; ++f) {
    double s = 0.0;
    const int64_t end = std::min(len, (f + 1) * kFrame);
    for (int64_t i = f * kFrame; i < end; ++i) s += double(speech[size_t(i)]) * speech[size_t(i)];
    rms[size_t(f)] = std::sqrt(s / double(end - f * kFrame));
    loudest = std::max(loudest, rms[size_t(f)]);
  }
  std::vector<float> out(size_t(n), 0.0f);
  if (loudest == 0.0) return out;
  int64_t first = 0, last = frames - 1;
  while (rms[size_t(first)] < 0.01 * loudest) ++first;
  while (rms[size_t(last)] < 0.01 * loudest) --last;
  const int64_t a = first * kFrame, b = std::min(len, (last + 1) * kFrame);
  // Speech start in the clip: centred and shifted, kept inside the clip when it fits.
  int64_t start = (n - (b - a)) / 2 + offset;
  if (b - a <= n) start = std::clamp<int64_t>(start, 0, n - (b - a));
  for (int64_t i = a; i < b; ++i) {
    const int64_t j = start + (i - a);
    if (j >= 0 && j < n) out[size_t(j)] = speech[size_t(i)];
  }
  return out;
}

std::string corpus_key(const CorpusOptions& opt) {
  const nlohmann::json j = {{"version", kVersion},
                            {"seed", opt.seed},
                            {"words", opt.words.empty() ? command_words() : opt.words},
                            {"unknown", opt.unknown},
                            {"silence", opt.silence},
                            {"speakers", {opt.validation_speakers, opt.test_speakers}},
                            {"voices", {opt.train_voices, opt.validation_voices, opt.test_voices}},
                            {"flite_takes", opt.flite_takes},
                            {"per_voice", {opt.unknown_per_voice, opt.silence_per_voice}}};
  // Only when used, so that the corpora made before festival keep their keys (and caches).
  nlohmann::json key = j;
  if (opt.festival_train_voices > 0) key["festival_train_voices"] = opt.festival_train_voices;
  if (opt.validation_narrowband > 0) key["validation_narrowband"] = opt.validation_narrowband;
  if (opt.festival_speakers != std::vector<std::string>{"kd"})
    key["festival_speakers"] = opt.festival_speakers;
  if (opt.festival_validation_voices > 0)
    key["festival_validation"] = {{"voices", opt.festival_validation_voices},
                                  {"speakers", opt.festival_validation_speakers}};
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the canonical JSON
  for (char c : key.dump()) h = (h ^ uint8_t(c)) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
  return buf;
}

Corpus make_corpus(const CorpusOptions& opt) {
  Plan plan;
  plan.words = opt.words.empty() ? command_words() : opt.words;
  for (const std::string& w : plan.words) {
    FOCUS_CHECK(std::count(plan.words.begin(), plan.words.end(), w) == 1, "speech: word '", w,
                "' is listed twice");
    FOCUS_CHECK(
        std::find(command_words().begin(), command_words().end(), w) != command_words().end(),
        "speech: '", w, "' is not a command word (the digits zero..nine and yes no up ",
        "down left right on off stop go)");
  }
  const std::vector<std::string> variants = espeak_variants();
  FOCUS_CHECK(opt.validation_speakers >= 1 && opt.test_speakers >= 1 &&
                  opt.validation_speakers + opt.test_speakers + 10 <= int64_t(variants.size()),
              "speech: validation_speakers ", opt.validation_speakers, " and test_speakers ",
              opt.test_speakers, " must be >= 1 and leave >= 10 of espeak-ng's ", variants.size(),
              " voice variants for training");
  FOCUS_CHECK(opt.train_voices >= 1 && opt.validation_voices >= 1 && opt.test_voices >= 0 &&
                  opt.flite_takes >= 0 && opt.test_voices + opt.flite_takes >= 1 &&
                  opt.festival_train_voices >= 0 && opt.unknown_per_voice >= 0 &&
                  opt.silence_per_voice >= 0,
              "speech: bad voice counts (train ", opt.train_voices, ", validation ",
              opt.validation_voices, ", test ", opt.test_voices, ", flite takes ", opt.flite_takes,
              ", festival train voices ", opt.festival_train_voices, ")");
  auto check_festival = [](const std::vector<std::string>& names, const char* what) {
    for (const std::string& n : names)
      FOCUS_CHECK(std::find(festival_voices().begin(), festival_voices().end(), n) !=
                      festival_voices().end(),
                  "speech: ", what, ": festival has no voice '", n, "'");
  };
  check_festival(opt.festival_speakers, "festival_speakers");
  check_festival(opt.festival_validation_speakers, "festival_validation_speakers");
  FOCUS_CHECK(opt.festival_train_voices == 0 || !opt.festival_speakers.empty(),
              "speech: festival_train_voices ", opt.festival_train_voices,
              " needs festival_speakers");
  FOCUS_CHECK(opt.festival_validation_voices >= 0 && (opt.festival_validation_voices == 0 ||
                                                      !opt.festival_validation_speakers.empty()),
              "speech: festival_validation_voices ", opt.festival_validation_voices,
              " needs festival_validation_speakers");
  for (const std::string& n : opt.festival_validation_speakers)
    FOCUS_CHECK(opt.festival_train_voices == 0 ||
                    std::find(opt.festival_speakers.begin(), opt.festival_speakers.end(), n) ==
                        opt.festival_speakers.end(),
                "speech: festival voice '", n,
                "' is in both festival_speakers and festival_validation_speakers");
  FOCUS_CHECK(opt.validation_narrowband >= 0.0 && opt.validation_narrowband <= 1.0,
              "speech: validation_narrowband ", opt.validation_narrowband, " is outside [0, 1]");
  Corpus c;
  c.classes = plan.words;
  if (opt.unknown && opt.unknown_per_voice > 0) {
    plan.unknown_label = int32_t(c.classes.size());
    c.classes.push_back(kUnknown);
    plan.unknown_pool = filler_words();
    for (const std::string& w : command_words())
      if (std::find(plan.words.begin(), plan.words.end(), w) == plan.words.end())
        plan.unknown_pool.push_back(w);
  }
  if (opt.silence && opt.silence_per_voice > 0) {
    plan.silence_label = int32_t(c.classes.size());
    c.classes.push_back(kSilence);
  }
  c.key = corpus_key(opt);
  std::string path;
  if (!opt.cache_dir.empty()) {
    const std::filesystem::path dir = std::filesystem::path(opt.cache_dir) / c.key;
    path = (dir / "corpus.bin").string();
    if (std::filesystem::exists(path)) {
      Corpus cached = load(path);
      FOCUS_CHECK(cached.classes == c.classes, "speech: ", path, " holds other classes");
      cached.key = c.key;
      cached.from_cache = true;
      return cached;
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    FOCUS_CHECK(!ec, "speech: cannot create ", dir.string(), ": ", ec.message());
  }
  Generator gen(mix64(opt.seed ^ 0x737065656368ull));  // "speech"
  Draw d{gen};
  // Speakers: a seeded permutation of the variants, cut into test | validation | train.
  std::vector<int64_t> order(variants.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = int64_t(i);
  data::detail::shuffle(order, Generator(gen.bits(gen.advance(1))));
  std::vector<std::string> test_spk, val_spk, train_spk;
  for (size_t i = 0; i < order.size(); ++i) {
    const std::string& v = variants[size_t(order[i])];
    if (int64_t(i) < opt.test_speakers)
      test_spk.push_back(v);
    else if (int64_t(i) < opt.test_speakers + opt.validation_speakers)
      val_spk.push_back(v);
    else
      train_spk.push_back(v);
  }
  c.train.voices = espeak_voices(train_spk, opt.train_voices, "train", d);
  c.validation.voices = espeak_voices(val_spk, opt.validation_voices, "validation", d);
  c.test.voices = espeak_voices(test_spk, opt.test_voices, "espeak-ng", d);
  for (int64_t t = 0; t < opt.flite_takes; ++t)
    for (const std::string& name : flite_voices())
      c.test.voices.push_back(
          {"flite", name, name, "flite", d.uniform(0.8, 1.25), d.uniform(0.8, 1.25)});
  // kd's f0 is ~105 Hz: pitch up to 1.7 (~180 Hz) reaches the low end of a female range. The
  // other voices are shifted as a whole (f0 and formants), so by less.
  auto festival = [&](const std::vector<std::string>& speakers, int64_t count,
                      const std::string& group, ClipSet& set) {
    for (int64_t i = 0; i < count; ++i) {
      const std::string& name = speakers[size_t(i) % speakers.size()];
      const double speed = d.uniform(0.75, 1.25);
      const double pitch = name == "kd" ? d.uniform(0.75, 1.7) : d.uniform(0.85, 1.2);
      set.voices.push_back({"festival", name, name, group, speed, pitch});
    }
  };
  festival(opt.festival_speakers, opt.festival_train_voices, "train", c.train);
  festival(opt.festival_validation_speakers, opt.festival_validation_voices, "validation-festival",
           c.validation);
  render(c.train, plan, opt, d);
  render(c.validation, plan, opt, d);
  narrow_band(c.validation, opt.validation_narrowband);
  render(c.test, plan, opt, d);
  if (!path.empty()) save(c, path);
  return c;
}

}  // namespace focus::speech
