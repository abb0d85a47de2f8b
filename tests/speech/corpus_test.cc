// The synthetic corpus: deterministic by seed, voice-disjoint splits, the cache, placement.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>

#include "focus/speech.h"
#include "test_util.h"

namespace focus {
namespace {

speech::CorpusOptions tiny() {
  speech::CorpusOptions o;
  o.seed = 3;
  o.words = {"yes", "no"};
  o.train_voices = 6;
  o.validation_voices = 2;
  o.test_voices = 3;
  o.flite_takes = 1;
  o.unknown_per_voice = 1;
  o.silence_per_voice = 1;
  return o;
}

std::set<std::string> speakers(const speech::ClipSet& s) {
  std::set<std::string> out;
  for (const auto& v : s.voices) out.insert(v.engine + ":" + v.speaker);
  return out;
}

TEST(Corpus, DeterministicBySeed) {
  const speech::Corpus a = speech::make_corpus(tiny());
  const speech::Corpus b = speech::make_corpus(tiny());
  EXPECT_EQ(a.classes, (std::vector<std::string>{"yes", "no", "_unknown_", "_silence_"}));
  ASSERT_EQ(a.train.size(), 6 * 4);
  ASSERT_EQ(a.validation.size(), 2 * 4);
  ASSERT_EQ(a.test.size(), (3 + 5) * 4);  // 3 held-out espeak-ng voices, 5 flite voices
  for (int64_t i = 0; i < a.train.size(); ++i)
    EXPECT_TRUE(std::equal(a.train.pcm.begin() + i * 16000, a.train.pcm.begin() + (i + 1) * 16000,
                           b.train.pcm.begin() + i * 16000))
        << "train clip " << i << " voice " << a.train.voices[size_t(a.train.voice[size_t(i)])].name
        << " label " << a.train.labels[size_t(i)];
  EXPECT_EQ(a.train.pcm, b.train.pcm);
  EXPECT_EQ(a.test.pcm, b.test.pcm);
  EXPECT_EQ(a.train.labels, b.train.labels);
  speech::CorpusOptions other = tiny();
  other.seed = 4;
  EXPECT_NE(speech::corpus_key(other), speech::corpus_key(tiny()));
  const speech::Corpus c = speech::make_corpus(other);
  EXPECT_NE(a.train.pcm, c.train.pcm);
}

TEST(Corpus, SplitsAreVoiceDisjoint) {
  speech::CorpusOptions o = tiny();
  o.train_voices = 80;  // more voices than train speakers: every train speaker appears
  o.words = {"go"};
  o.unknown = o.silence = false;
  const speech::Corpus c = speech::make_corpus(o);
  const auto tr = speakers(c.train), va = speakers(c.validation), te = speakers(c.test);
  for (const auto& s : va) EXPECT_EQ(tr.count(s), 0u) << s;
  for (const auto& s : te) EXPECT_EQ(tr.count(s), 0u) << s;
  for (const auto& s : te) EXPECT_EQ(va.count(s), 0u) << s;
  for (const auto& v : c.train.voices) EXPECT_EQ(v.engine, "espeak-ng");
  for (const auto& v : c.validation.voices) EXPECT_EQ(v.engine, "espeak-ng");
  EXPECT_EQ(c.test.in_group("flite").size(), 5u);
  EXPECT_EQ(c.test.in_group("espeak-ng").size(), 3u);
  EXPECT_EQ(c.test.in_group("flite").size() + c.test.in_group("espeak-ng").size(),
            size_t(c.test.size()));
}

TEST(Corpus, ClipsHoldSpeechAndSilenceHoldsNone) {
  const speech::Corpus c = speech::make_corpus(tiny());
  for (int64_t i = 0; i < c.train.size(); ++i) {
    const std::vector<float> w = c.train.wave(i);
    float peak = 0;
    for (float v : w) peak = std::max(peak, std::abs(v));
    if (c.classes[size_t(c.train.labels[size_t(i)])] == speech::kSilence)
      EXPECT_LT(peak, 0.3f) << i;
    else
      EXPECT_GT(peak, 0.25f) << i;  // peak normalised to [0.3, 0.9]
  }
}

TEST(Corpus, CacheGivesTheSameClips) {
  const test::ScratchDir scratch("speech_cache");
  const std::string dir = scratch.str();
  speech::CorpusOptions o = tiny();
  o.cache_dir = dir;
  const speech::Corpus made = speech::make_corpus(o);
  EXPECT_FALSE(made.from_cache);
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(dir) / made.key / "corpus.bin"));
  const speech::Corpus read = speech::make_corpus(o);
  EXPECT_TRUE(read.from_cache);
  EXPECT_EQ(read.train.pcm, made.train.pcm);
  EXPECT_EQ(read.test.voice, made.test.voice);
  EXPECT_EQ(read.test.voices.size(), made.test.voices.size());
  EXPECT_EQ(read.test.voices.back().name, made.test.voices.back().name);
  // A damaged cache file is a named error, not a crash.
  const auto path = std::filesystem::path(dir) / made.key / "corpus.bin";
  std::filesystem::resize_file(path, 1000);
  test::expect_error([&] { speech::make_corpus(o); }, {"corpus.bin"});
}

TEST(Corpus, FestivalVoicesSpeakInTrainingOnly) {
  speech::CorpusOptions o = tiny();
  o.festival_train_voices = 2;
  const speech::Corpus a = speech::make_corpus(o);
  EXPECT_NE(speech::corpus_key(o), speech::corpus_key(tiny()));
  ASSERT_EQ(a.train.voices.size(), 6u + 2u);
  ASSERT_EQ(a.train.size(), (6 + 2) * 4);
  for (size_t v = 6; v < 8; ++v) {
    EXPECT_EQ(a.train.voices[v].engine, "festival");
    EXPECT_EQ(a.train.voices[v].speaker, "kd");
  }
  for (const auto& v : a.validation.voices) EXPECT_NE(v.engine, "festival");
  for (const auto& v : a.test.voices) EXPECT_NE(v.engine, "festival");
  // Every festival clip holds its word (peak-normalised speech), and the engine is deterministic.
  const speech::Corpus b = speech::make_corpus(o);
  for (int64_t i = 6 * 4; i < a.train.size(); ++i) {
    if (a.classes[size_t(a.train.labels[size_t(i)])] == speech::kSilence) continue;
    const std::vector<float> w = a.train.wave(i);
    EXPECT_GT(*std::max_element(w.begin(), w.end()), 0.1f) << i;
    EXPECT_TRUE(std::equal(a.train.pcm.begin() + i * 16000, a.train.pcm.begin() + (i + 1) * 16000,
                           b.train.pcm.begin() + i * 16000))
        << i;
  }
}

// The part of a clip above 4 kHz, as a fraction of its energy.
double above_4k(const std::vector<float>& x) {
  const std::vector<float> low = speech::band_limit(x, 4000.0);
  double all = 0.0, high = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    all += double(x[i]) * x[i];
    high += double(x[i] - low[i]) * (x[i] - low[i]);
  }
  return all > 0.0 ? high / all : 0.0;
}

TEST(Corpus, NarrowBandValidationVoicesLoseWhatIsAbove4k) {
  speech::CorpusOptions o = tiny();
  o.validation_voices = 4;
  o.validation_narrowband = 0.5;
  const speech::Corpus plain = speech::make_corpus([&] {
    speech::CorpusOptions p = o;
    p.validation_narrowband = 0.0;
    return p;
  }());
  const speech::Corpus c = speech::make_corpus(o);
  EXPECT_NE(speech::corpus_key(o), speech::corpus_key(tiny()));
  EXPECT_EQ(c.train.pcm, plain.train.pcm);  // only validation is heard through the channel
  EXPECT_EQ(c.test.pcm, plain.test.pcm);
  ASSERT_EQ(c.validation.size(), plain.validation.size());
  std::vector<std::string> groups;
  for (const auto& v : c.validation.voices) groups.push_back(v.group);
  EXPECT_EQ(groups, (std::vector<std::string>{"validation", "validation-8k", "validation",
                                              "validation-8k"}));
  double narrow_high = 0.0, full_high = 0.0;
  for (int64_t i = 0; i < c.validation.size(); ++i) {
    if (c.classes[size_t(c.validation.labels[size_t(i)])] == speech::kSilence) continue;
    const bool narrow = c.validation.voice[size_t(i)] % 2 == 1;
    if (!narrow) {
      EXPECT_EQ(c.validation.wave(i), plain.validation.wave(i)) << i;
      full_high = std::max(full_high, above_4k(c.validation.wave(i)));
    } else {
      narrow_high = std::max(narrow_high, above_4k(c.validation.wave(i)));
    }
  }
  EXPECT_LT(narrow_high, 1e-3);
  EXPECT_GT(full_high, 1e-2);  // espeak-ng's "yes" has its /s/ up there
  o.validation_narrowband = 1.5;
  test::expect_error([&] { speech::make_corpus(o); }, {"validation_narrowband 1.5"});
}

TEST(Corpus, KeysOfCorporaWithoutFestivalAreUnchanged) {
  // The default options (no festival voices, full-band validation) are those of the runs in
  // docs/results.md before those options existed; caches made then keep this key.
  EXPECT_EQ(speech::corpus_key(speech::CorpusOptions{}), "8978714b23163aa4");
  // So does the corpus of kd's 120 voices and narrow-band validation (runs A-D), made before the
  // other festival voices were offered.
  speech::CorpusOptions o;
  o.festival_train_voices = 120;
  o.validation_narrowband = 0.5;
  EXPECT_EQ(speech::corpus_key(o), "b39c038c0a0dea59");
}

TEST(Corpus, FestivalValidationSpeakersNeverTrain) {
  speech::CorpusOptions o = tiny();
  o.festival_train_voices = 2;
  o.festival_speakers = {"kd", "italp"};
  o.festival_validation_voices = 2;
  o.festival_validation_speakers = {"mv"};
  const speech::Corpus c = speech::make_corpus(o);
  speech::CorpusOptions kd_only = o;
  kd_only.festival_speakers = {"kd"};
  EXPECT_NE(speech::corpus_key(o), speech::corpus_key(kd_only));
  ASSERT_EQ(c.train.voices.size(), 6u + 2u);
  EXPECT_EQ(c.train.voices[6].speaker, "kd");
  EXPECT_EQ(c.train.voices[7].speaker, "italp");
  std::vector<std::string> festival_groups;
  for (const auto& v : c.validation.voices)
    if (v.engine == "festival") {
      EXPECT_EQ(v.speaker, "mv");
      festival_groups.push_back(v.group);
    }
  EXPECT_EQ(festival_groups,
            (std::vector<std::string>{"validation-festival", "validation-festival"}));
  EXPECT_EQ(c.validation.in_group("validation-festival").size(), 2u * 4u);
  // The speech of every festival validation clip is there.
  for (int64_t i : c.validation.in_group("validation-festival")) {
    if (c.classes[size_t(c.validation.labels[size_t(i)])] == speech::kSilence) continue;
    const std::vector<float> w = c.validation.wave(i);
    EXPECT_GT(*std::max_element(w.begin(), w.end()), 0.1f) << i;
  }
  for (const auto& v : c.test.voices) EXPECT_NE(v.engine, "festival");

  speech::CorpusOptions both = o;
  both.festival_validation_speakers = {"italp"};
  test::expect_error([&] { speech::make_corpus(both); },
                     {"'italp' is in both festival_speakers and festival_validation_speakers"});
  speech::CorpusOptions unknown = o;
  unknown.festival_speakers = {"kd", "slt"};
  test::expect_error([&] { speech::make_corpus(unknown); },
                     {"festival_speakers: festival has no voice 'slt'"});
  speech::CorpusOptions nobody = o;
  nobody.festival_validation_speakers.clear();
  test::expect_error([&] { speech::make_corpus(nobody); },
                     {"festival_validation_voices 2 needs festival_validation_speakers"});
}

// Crossings of zero per sample: rises with f0 and formants.
double crossing_rate(const std::vector<float>& x) {
  int64_t n = 0;
  for (size_t i = 1; i < x.size(); ++i) n += (x[i - 1] < 0.0f) != (x[i] < 0.0f);
  return double(n) / double(x.size());
}

TEST(Synth, FestivalVoicesOfOtherLanguagesSayTheWordsRespelt) {
  speech::Voice v{"festival", "italp", "italp", "train", 1.0, 1.0};
  // "one" is said as the Italian spelling "uan"; a word that is not a command goes as written.
  const std::vector<std::vector<float>> w = speech::synthesize_all(v, {"one", "uan", "dog"});
  ASSERT_EQ(w.size(), 3u);
  EXPECT_GT(w[0].size(), 3200u);
  EXPECT_EQ(w[0], w[1]);
  EXPECT_NE(w[0], w[2]);
  // festival cannot move this voice's prosody: speed and pitch are applied to its output.
  speech::Voice slow = v, high = v;
  slow.speed = 0.7;
  high.pitch = 1.2;
  EXPECT_GT(speech::synthesize(slow, "seven").size(), speech::synthesize(v, "seven").size() + 1600);
  const std::vector<float> plain = speech::synthesize(v, "seven"),
                           raised = speech::synthesize(high, "seven");
  EXPECT_NEAR(double(raised.size()), double(plain.size()), 0.05 * double(plain.size()));
  EXPECT_GT(crossing_rate(raised), 1.1 * crossing_rate(plain));
  // The HTS voice too.
  speech::Voice ona{"festival", "ona", "ona", "train", 1.0, 1.0};
  EXPECT_GT(speech::synthesize(ona, "go").size(), 1600u);
}

TEST(Synth, FestivalVoicesAndErrors) {
  EXPECT_EQ(speech::festival_voices(), (std::vector<std::string>{"dita", "italp", "itapc", "kd",
                                                                 "lj", "machac", "mv", "ona"}));
  speech::Voice v{"festival", "kd", "kd", "train", 1.0, 1.0};
  const std::vector<std::vector<float>> w = speech::synthesize_all(v, {"seven", "go"});
  ASSERT_EQ(w.size(), 2u);
  EXPECT_GT(w[0].size(), 3200u);  // at 16 kHz, more than 0.2 s each
  EXPECT_GT(w[1].size(), 3200u);
  // Slower speech lasts longer.
  speech::Voice slow = v;
  slow.speed = 0.7;
  EXPECT_GT(speech::synthesize(slow, "seven").size(), w[0].size() + 1600);
  v.name = "kal";  // flite's speaker: not offered
  test::expect_error([&] { speech::synthesize(v, "go"); }, {"festival has no voice 'kal'"});
  v.engine = "pico";
  test::expect_error([&] { speech::synthesize(v, "go"); }, {"unknown engine 'pico'"});
}

TEST(Corpus, BadOptions) {
  speech::CorpusOptions o = tiny();
  o.words = {"banana"};
  test::expect_error([&] { speech::make_corpus(o); }, {"'banana' is not a command word"});
  o = tiny();
  o.test_speakers = 1000;
  test::expect_error([&] { speech::make_corpus(o); }, {"test_speakers 1000"});
}

TEST(Place, TrimsCentresAndShifts) {
  std::vector<float> s(8000, 0.0f);
  for (int i = 3200; i < 4800; ++i) s[size_t(i)] = 0.5f;  // 1600 samples, 10 frames of "speech"
  const std::vector<float> c = speech::place(s, 16000);
  ASSERT_EQ(c.size(), 16000u);
  EXPECT_EQ(c[7199], 0.0f);
  EXPECT_EQ(c[7200], 0.5f);
  EXPECT_EQ(c[8799], 0.5f);
  EXPECT_EQ(c[8800], 0.0f);
  const std::vector<float> shifted = speech::place(s, 16000, 100);
  EXPECT_EQ(shifted[7299], 0.0f);
  EXPECT_EQ(shifted[7300], 0.5f);
  EXPECT_EQ(speech::place(std::vector<float>(100, 0.0f), 50), std::vector<float>(50, 0.0f));
}

}  // namespace
}  // namespace focus
