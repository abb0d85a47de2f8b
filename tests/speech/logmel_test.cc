// The log-mel spectrogram against a float64 numpy reference (scripts/gen_speech_fixtures.py).
#include "focus/audio.h"
#include "focus/io/safetensors.h"
#include "test_util.h"

namespace focus {
namespace {

TEST(LogMel, MatchesNumpyReference) {
  const io::TensorFile f = io::load_safetensors(test::fixture("speech/logmel.safetensors"));
  const Tensor& x = f.at("input");  // [4000]
  for (int64_t mels : {40, 80}) {
    audio::LogMel mel({.mels = mels});
    const Tensor out = mel(x.data(), x.numel());
    const Tensor& ref = f.at("mel" + std::to_string(mels));
    ASSERT_EQ(out.shape(), ref.shape());
    // log energies: absolute error; float32 FFT vs float64 leaves ~1e-4 where energy is small.
    FOCUS_EXPECT_CLOSE(out, ref, 0.0f, 2e-3f);
  }
}

TEST(LogMel, FramesAndShortInput) {
  audio::LogMel mel;
  EXPECT_EQ(mel.frames(16000), 98);
  EXPECT_EQ(mel.frames(400), 1);
  EXPECT_EQ(mel.frames(100), 1);
  std::vector<float> x(100, 0.0f);
  const Tensor out = mel(x.data(), 100);
  ASSERT_EQ(out.shape(), (Shape{40, 1}));
  for (float v : out.to_vector()) EXPECT_FLOAT_EQ(v, std::log(1e-6f));  // the floor
}

TEST(LogMel, FiltersCoverTheBandOnce) {
  audio::LogMel mel({.mels = 40});
  const auto& fb = mel.filters();  // [40, 257]
  // Between the centres of the first and last filter the triangles sum to 1.
  const int64_t bins = 257;
  for (int64_t k = 5; k < 230; ++k) {
    double s = 0;
    for (int64_t m = 0; m < 40; ++m) s += fb[size_t(m * bins + k)];
    EXPECT_NEAR(s, 1.0, 1e-4) << k;
  }
}

TEST(LogMel, BadOptions) {
  test::expect_error([] { audio::LogMel m({.fft = 256}); }, {"log_mel", "fft 256"});
  test::expect_error([] { audio::LogMel m({.fmax = 9000}); }, {"log_mel", "fmax 9000"});
}

}  // namespace
}  // namespace focus
