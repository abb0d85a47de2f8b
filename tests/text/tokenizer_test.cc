// The sentencepiece tokeniser: trains on a small crafted corpus, round-trips text, keeps the
// reserved ids, survives save/load bit for bit, and maps pieces back to byte ranges of the text.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "focus/error.h"
#include "focus/tokenizer.h"
#include "test_util.h"

using focus::data::Tokenizer;

namespace {

std::vector<std::string> corpus() {
  const char* words[] = {"free",  "money",  "meeting", "tomorrow", "click",   "here",
                         "offer", "report", "linux",   "kernel",   "patch",   "unsubscribe",
                         "café",  "naïve",  "thanks",  "regards",  "project", "release"};
  std::vector<std::string> texts;
  uint64_t s = 7;
  for (int t = 0; t < 300; ++t) {
    std::string text;
    for (int w = 0; w < 30; ++w) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      text += words[(s >> 33) % 18];
      text += (w % 10 == 9) ? "\n" : " ";
    }
    texts.push_back(text);
  }
  return texts;
}

const Tokenizer& tokenizer() {
  static const Tokenizer tok = Tokenizer::train(corpus(), {.vocab = 400, .seed = 3, .threads = 1});
  return tok;
}

}  // namespace

TEST(Tokenizer, ReservedIdsAndVocab) {
  const Tokenizer& tok = tokenizer();
  EXPECT_EQ(tok.piece(Tokenizer::kPad), "<pad>");
  EXPECT_EQ(tok.piece(Tokenizer::kUnk), "<unk>");
  EXPECT_LE(tok.vocab_size(), 400);
  EXPECT_GT(tok.vocab_size(), 256 + 20);
}

TEST(Tokenizer, RoundTrip) {
  const Tokenizer& tok = tokenizer();
  const std::string text = "free money for the linux kernel patch, café naïve";
  const std::vector<int32_t> ids = tok.encode(text);
  ASSERT_FALSE(ids.empty());
  for (int32_t id : ids) {
    EXPECT_GE(id, 1);  // never the padding id
    EXPECT_LT(id, tok.vocab_size());
  }
  EXPECT_EQ(tok.decode(ids), text);
}

TEST(Tokenizer, SaveLoadGivesTheSameIds) {
  const Tokenizer& tok = tokenizer();
  const focus::test::ScratchDir dir("tokenizer");
  const std::string path = dir.file("tokenizer.model");
  tok.save(path);
  Tokenizer back = Tokenizer::load(path);
  const std::string text = "click here to unsubscribe from the project release report";
  EXPECT_EQ(back.encode(text), tok.encode(text));
  EXPECT_EQ(back.bytes(), tok.bytes());
}

TEST(Tokenizer, TrainingIsDeterministic) {
  Tokenizer again = Tokenizer::train(corpus(), {.vocab = 400, .seed = 3, .threads = 1});
  EXPECT_EQ(again.bytes(), tokenizer().bytes());
}

TEST(Tokenizer, PiecesCoverTheirWords) {
  const Tokenizer& tok = tokenizer();
  const std::string text = "thanks  for the  meeting";
  const auto pieces = tok.encode_pieces(text);
  ASSERT_FALSE(pieces.empty());
  size_t last_end = 0;
  for (const auto& p : pieces) {
    EXPECT_LE(p.begin, p.end);
    EXPECT_LE(p.end, text.size());
    EXPECT_GE(p.begin, last_end);
    last_end = p.end;
  }
  // Every non-space byte of the text lies in some piece's range.
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == ' ') continue;
    bool covered = false;
    for (const auto& p : pieces) covered |= p.begin <= i && i < p.end;
    EXPECT_TRUE(covered) << "byte " << i;
  }
}

TEST(Tokenizer, BadModelFileIsAnError) {
  const focus::test::ScratchDir dir("tokenizer_bad");
  const std::string path = dir.file("bad.model");
  { std::ofstream(path) << "not a model"; }
  EXPECT_THROW(Tokenizer::load(path), focus::Error);
  EXPECT_THROW(Tokenizer::load("/nonexistent/tokenizer.model"), focus::Error);
}
