// Text to speech: espeak-ng through libespeak-ng and flite through libflite in the process (both
// keep global state, so every call holds one lock); festival through its command.
#include <espeak-ng/speak_lib.h>
extern "C" {
#include <flite/flite.h>
cst_voice* register_cmu_us_kal(const char* voxdir);
cst_voice* register_cmu_us_kal16(const char* voxdir);
cst_voice* register_cmu_us_awb(const char* voxdir);
cst_voice* register_cmu_us_rms(const char* voxdir);
cst_voice* register_cmu_us_slt(const char* voxdir);
}

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>

#include "focus/error.h"
#include "focus/speech.h"

namespace focus::speech {
namespace {

std::mutex& engine_mutex() {
  static std::mutex m;
  return m;
}

// Both engines carry state from one utterance to the next (espeak-ng says the same word twice
// differently), so each utterance is spoken by a forked child of the initialised engine: it always
// starts from the same state, sends its 16-bit samples back through a pipe and exits.
int child_fd = -1;  // in a child: its end of the pipe

bool send(const short* wav, size_t n) {
  const char* p = reinterpret_cast<const char*>(wav);
  size_t left = n * sizeof(short);
  while (left > 0) {
    const ssize_t w = ::write(child_fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;  // the parent went away
    p += w, left -= size_t(w);
  }
  return true;
}

// Runs speak() (which calls send() and returns whether it succeeded) in a child; the samples.
std::vector<short> forked(const std::function<bool()>& speak, const std::string& what) {
  int fds[2];
  FOCUS_CHECK(::pipe(fds) == 0, "speech: pipe: ", std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid == 0) {  // exits without running the parent's destructors or atexit handlers
    ::close(fds[0]);
    child_fd = fds[1];
    std::srand(1);  // espeak-ng's Klatt voices draw aspiration noise from rand()
    ::_exit(speak() ? 0 : 3);
  }
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    throw Error(std::string("speech: fork: ") + std::strerror(errno));
  }
  std::vector<char> bytes;
  char buf[1 << 14];
  for (;;) {
    const ssize_t r = ::read(fds[0], buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    bytes.insert(bytes.end(), buf, buf + r);
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  FOCUS_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "speech: could not say ", what);
  std::vector<short> pcm(bytes.size() / sizeof(short));
  std::memcpy(pcm.data(), bytes.data(), pcm.size() * sizeof(short));
  return pcm;
}

std::vector<float> to_float(const std::vector<short>& pcm) {
  std::vector<float> x(pcm.size());
  for (size_t i = 0; i < pcm.size(); ++i) x[i] = float(pcm[i]) / 32768.0f;
  return x;
}

// ---- espeak-ng ----

int espeak_collect(short* wav, int n, espeak_EVENT*) {
  return wav != nullptr && n > 0 && !send(wav, size_t(n)) ? 1 : 0;
}

int espeak_rate() {
  static int rate = [] {
    const int r =
        espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nullptr, espeakINITIALIZE_DONT_EXIT);
    FOCUS_CHECK(r > 0, "speech: espeak-ng failed to start (", r,
                "); is the espeak-ng-data package installed?");
    espeak_SetSynthCallback(espeak_collect);
    return r;
  }();
  return rate;
}

bool plain_word(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '+' || c == '_' || c == ' ';
  });
}

// The library finds voices by file ("gmw/en-GB-scotland"), not by language as the command does.
std::string espeak_file(const std::string& name) {
  static const std::map<std::string, std::string> files = {{"en-us", "gmw/en-US"},
                                                           {"en-gb", "gmw/en"},
                                                           {"en-gb-x-rp", "gmw/en-GB-x-rp"},
                                                           {"en-gb-scotland", "gmw/en-GB-scotland"},
                                                           {"en-029", "gmw/en-029"},
                                                           {"en-gb-x-gbclan", "gmw/en-GB-x-gbclan"},
                                                           {"en-gb-x-gbcwmd", "gmw/en-GB-x-gbcwmd"},
                                                           {"en-us-nyc", "gmw/en-US-nyc"}};
  const size_t plus = name.find('+');
  const auto it = files.find(name.substr(0, plus));
  FOCUS_CHECK(it != files.end(), "speech: espeak-ng accent '", name.substr(0, plus),
              "' is not one of en-us en-gb en-gb-x-rp en-gb-scotland en-029 en-gb-x-gbclan ",
              "en-gb-x-gbcwmd en-us-nyc");
  return it->second + (plus == std::string::npos ? "" : name.substr(plus));
}

std::vector<float> espeak_say(const Voice& v, const std::string& text) {
  const int rate = espeak_rate();
  const std::string file = espeak_file(v.name);
  const std::vector<short> pcm = forked(
      [&] {
        if (espeak_SetVoiceByName(file.c_str()) != EE_OK) return false;
        espeak_SetParameter(espeakRATE, std::clamp(int(std::lround(175.0 * v.speed)), 80, 450), 0);
        espeak_SetParameter(espeakPITCH, std::clamp(int(std::lround(50.0 * v.pitch)), 0, 99), 0);
        return espeak_Synth(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8,
                            nullptr, nullptr) == EE_OK &&
               espeak_Synchronize() == EE_OK;
      },
      "'" + text + "' with espeak-ng voice " + v.name + " (" + file + ")");
  return audio::resample(to_float(pcm), rate, audio::kRate);
}

// ---- flite ----

cst_voice* flite_voice(const std::string& name) {
  static std::map<std::string, cst_voice*> voices;
  static bool started = false;
  if (!started) {
    flite_init();
    started = true;
  }
  auto it = voices.find(name);
  if (it != voices.end()) return it->second;
  cst_voice* v = nullptr;
  if (name == "kal") v = register_cmu_us_kal(nullptr);
  if (name == "kal16") v = register_cmu_us_kal16(nullptr);
  if (name == "awb") v = register_cmu_us_awb(nullptr);
  if (name == "rms") v = register_cmu_us_rms(nullptr);
  if (name == "slt") v = register_cmu_us_slt(nullptr);
  FOCUS_CHECK(v != nullptr, "speech: flite has no voice '", name,
              "' (known: kal kal16 awb rms slt)");
  return voices[name] = v;
}

std::vector<float> flite_say(const Voice& v, const std::string& text) {
  cst_voice* voice = flite_voice(v.name);
  static std::map<std::string, float> base_f0;
  if (!base_f0.count(v.name))
    base_f0[v.name] = get_param_float(voice->features, "int_f0_target_mean", 100.0f);
  const float f0 = float(base_f0[v.name] * v.pitch);
  // The rate goes first in the pipe, then the samples.
  const std::vector<short> got = forked(
      [&] {
        feat_set_float(voice->features, "duration_stretch", float(1.0 / v.speed));
        feat_set_float(voice->features, "int_f0_target_mean", f0);
        cst_wave* w = flite_text_to_wave(text.c_str(), voice);
        if (w == nullptr) return false;
        const int32_t rate = w->sample_rate;
        const short header[2] = {short(rate & 0xFFFF), short(rate >> 16)};
        return send(header, 2) && send(w->samples, size_t(std::max(0, w->num_samples)));
      },
      "'" + text + "' with flite voice " + v.name);
  FOCUS_CHECK(got.size() >= 2, "speech: flite said nothing for '", text, "'");
  const int64_t rate = int64_t(uint16_t(got[0])) | (int64_t(uint16_t(got[1])) << 16);
  return audio::resample(to_float({got.begin() + 2, got.end()}), rate, audio::kRate);
}

// ---- festival ----

// Festival's voices by the names used here; kal and slt stay out: they are flite's speakers too.
// kd is Debian's one other English voice. The rest speak other languages: they say the command
// words from a respelling in their own spelling (English as a speaker of that language would say
// it) and every other word as written, so they add accented speakers, women among them, and a
// statistical (HTS) engine besides the diphone ones.
struct FestivalVoice {
  const char* scheme;    // the function that selects the voice
  const char* language;  // "en", or the key of its respelling table
  const char* package;   // the Debian package that holds it
  bool lr_prosody;       // f0 from int_lr_params and durations stretchable inside festival
};

const std::map<std::string, FestivalVoice>& festival_scheme() {
  static const std::map<std::string, FestivalVoice> v = {
      {"kd", {"voice_ked_diphone", "en", "festvox-kdlpc16k", true}},
      {"italp", {"voice_lp_diphone", "it", "festvox-italp16k", false}},         // Italian, female
      {"itapc", {"voice_pc_diphone", "it", "festvox-itapc16k", false}},         // Italian, male
      {"ona", {"voice_upc_ca_ona_hts", "ca", "festvox-ca-ona-hts", false}},     // Catalan, female
      {"dita", {"voice_czech_dita", "cs", "festvox-czech-dita", false}},        // Czech, female
      {"machac", {"voice_czech_machac", "cs", "festvox-czech-machac", false}},  // Czech, male
      {"lj", {"voice_suo_fi_lj_diphone", "fi", "festvox-suopuhe-lj", false}},   // Finnish, female
      {"mv", {"voice_hy_fi_mv_diphone", "fi", "festvox-suopuhe-mv", false}},    // Finnish, male
  };
  return v;
}

// The command words (command_words() order) spelt so that each language's letter-to-sound rules
// come close to the English words.
const std::map<std::string, std::vector<std::string>>& respellings() {
  static const std::map<std::string, std::vector<std::string>> r = {
      {"it", {"ziro", "uan", "tu", "tri",  "for",  "faiv", "sics", "seven", "eit",  "nain",
              "ies",  "nou", "ap", "daun", "left", "rait", "on",   "of",    "stop", "gou"}},
      {"ca", {"zirou", "uan", "tu", "tri",  "for",  "faiv", "sics", "seven", "eit",  "nain",
              "ies",   "nou", "ap", "daun", "left", "rait", "on",   "of",    "stop", "gou"}},
      {"cs", {"zirou", "uan", "tu", "tri",  "for",  "fajv", "siks", "sevn", "ejt",  "najn",
              "jes",   "nou", "ap", "daun", "left", "rajt", "on",   "of",   "stop", "gou"}},
      {"fi", {"siirou", "uan", "tuu", "trii", "foor", "faiv", "siks", "seven", "eit",  "nain",
              "jes",    "nou", "ap",  "daun", "left", "rait", "on",   "of",    "stop", "gou"}},
  };
  return r;
}

std::string respelt(const FestivalVoice& fv, const std::string& word) {
  const auto table = respellings().find(fv.language);
  if (table == respellings().end()) return word;
  const auto& words = command_words();
  const auto it = std::find(words.begin(), words.end(), word);
  return it == words.end() ? word : table->second[size_t(it - words.begin())];
}

// Speed and pitch for voices whose prosody festival cannot move: the whole spectrum (f0 and
// formants, as in a smaller or larger speaker) scaled by `pitch` through resampling, and the
// tempo by `speed` through WSOLA, in one stretch.
std::vector<float> reshape(const std::vector<float>& x, double speed, double pitch) {
  std::vector<float> y = speed_up(x, pitch);
  const double factor = speed * 100.0 / double(speed_percent(pitch));  // as rounded by speed_up
  return std::abs(factor - 1.0) < 1e-6 ? y : time_stretch(y, factor);
}

std::string festival_binary() {
  for (const char* p : {"/usr/bin/festival", "/usr/local/bin/festival"})
    if (::access(p, X_OK) == 0) return p;
  throw Error(
      "speech: festival is not installed (Debian packages festival and festvox-kdlpc16k; "
      "scripts/deps.sh installs them)");
}

std::string scheme_string(const std::string& s) {  // plain_word() text and our own paths
  return "\"" + s + "\"";
}

// One festival process per voice says every text: starting festival costs ~0.4 s, a word ~10 ms.
// Each text goes to its own WAV file in a fresh folder, read back through libsndfile.
std::vector<std::vector<float>> festival_say(const Voice& v,
                                             const std::vector<std::string>& texts) {
  const auto it = festival_scheme().find(v.name);
  if (it == festival_scheme().end()) {
    std::string known;
    for (const std::string& name : festival_voices()) known += (known.empty() ? "" : ", ") + name;
    throw Error("speech: festival has no voice '" + v.name + "' here (known: " + known + ")");
  }
  const FestivalVoice& fv = it->second;
  const std::string binary = festival_binary();
  std::string dir = (std::filesystem::temp_directory_path() / "focus-festival.XXXXXX").string();
  FOCUS_CHECK(::mkdtemp(dir.data()) != nullptr, "speech: mkdtemp: ", std::strerror(errno));
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir};
  // The voice's own f0 model is a linear regression onto a target mean and deviation
  // (int_lr_params); pitch scales both, speed divides the durations.
  std::ostringstream scm;
  scm.imbue(std::locale::classic());
  scm << "(" << fv.scheme << ")\n";
  if (fv.lr_prosody)
    scm << "(Parameter.set 'Duration_Stretch " << 1.0 / v.speed << ")\n"
        << "(set! int_lr_params (list (list 'target_f0_mean (* " << v.pitch
        << " (car (cdr (assoc 'target_f0_mean int_lr_params)))))"
        << " (list 'target_f0_std (* " << v.pitch
        << " (car (cdr (assoc 'target_f0_std int_lr_params)))))"
        << " (assoc 'model_f0_mean int_lr_params) (assoc 'model_f0_std int_lr_params)))\n";
  for (size_t i = 0; i < texts.size(); ++i)
    scm << "(utt.save.wave (utt.synth (Utterance Text " << scheme_string(respelt(fv, texts[i]))
        << ")) " << scheme_string(dir + "/" + std::to_string(i) + ".wav") << " 'riff)\n";
  const std::string script = dir + "/say.scm";
  {
    std::ofstream f(script);
    f << scm.str();
    FOCUS_CHECK(f.good(), "speech: cannot write ", script);
  }
  const std::string log = dir + "/log";
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) ::dup2(fd, 1), ::dup2(fd, 2);
    ::execl(binary.c_str(), binary.c_str(), "-b", script.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  FOCUS_CHECK(pid > 0, "speech: fork: ", std::strerror(errno));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ifstream f(log);
    std::string first;
    std::getline(f, first);
    throw Error("speech: festival voice " + v.name + " failed (" + first + "); is " + fv.package +
                " installed?");
  }
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<float> w = audio::load(dir + "/" + std::to_string(i) + ".wav");
    FOCUS_CHECK(!w.empty(), "speech: festival said nothing for '", texts[i], "'");
    out.push_back(fv.lr_prosody ? std::move(w) : reshape(w, v.speed, v.pitch));
  }
  return out;
}

}  // namespace

const std::vector<std::string>& espeak_accents() {
  static const std::vector<std::string> a = {"en-us",          "en-gb",    "en-gb-x-rp",
                                             "en-gb-scotland", "en-029",   "en-gb-x-gbclan",
                                             "en-gb-x-gbcwmd", "en-us-nyc"};
  return a;
}

std::vector<std::string> espeak_variants() {
  // The variants espeak-ng ships (voices/!v), less names with spaces; sorted, so the list (and so
  // every split made from it) is the same wherever the same package is installed.
  std::vector<std::string> names;
  for (const char* dir : {"/usr/lib/x86_64-linux-gnu/espeak-ng-data/voices/!v",
                          "/usr/lib/aarch64-linux-gnu/espeak-ng-data/voices/!v",
                          "/usr/share/espeak-ng-data/voices/!v"}) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) continue;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      const std::string n = e.path().filename().string();
      if (e.is_regular_file() && plain_word(n) && n.find(' ') == std::string::npos)
        names.push_back(n);
    }
    break;
  }
  std::sort(names.begin(), names.end());
  FOCUS_CHECK(names.size() >= 30, "speech: found ", names.size(),
              " espeak-ng voice variants (voices/!v); install the espeak-ng-data package");
  return names;
}

const std::vector<std::string>& flite_voices() {
  static const std::vector<std::string> v = {"kal", "kal16", "awb", "rms", "slt"};
  return v;
}

const std::vector<std::string>& festival_voices() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> names;
    for (const auto& [name, scheme] : festival_scheme()) names.push_back(name);
    return names;
  }();
  return v;
}

std::vector<std::vector<float>> synthesize_all(const Voice& voice,
                                               const std::vector<std::string>& texts) {
  for (const std::string& text : texts)
    FOCUS_CHECK(plain_word(text), "speech: text to synthesise must be plain words, got '", text,
                "'");
  if (voice.engine == "festival") return festival_say(voice, texts);  // its own process
  const bool espeak = voice.engine == "espeak-ng";
  FOCUS_CHECK(espeak || voice.engine == "flite", "speech: unknown engine '", voice.engine,
              "' (espeak-ng, flite or festival)");
  std::vector<std::vector<float>> out;
  std::lock_guard<std::mutex> lock(engine_mutex());
  for (const std::string& text : texts)
    out.push_back(espeak ? espeak_say(voice, text) : flite_say(voice, text));
  return out;
}

std::vector<float> synthesize(const Voice& voice, const std::string& text) {
  return std::move(synthesize_all(voice, {text}).front());
}

}  // namespace focus::speech
