// Subword tokeniser: a sentencepiece model (unigram or BPE) trained on the training texts only and
// saved with the model, so that predict and eval read text exactly as training did.
//
//   auto tok = data::Tokenizer::train(train_texts, {.vocab = 8000, .seed = 1});
//   tok.save(model_dir + "/tokenizer.model");
//   auto ids = data::Tokenizer::load(model_dir + "/tokenizer.model").encode("Buy now!");
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace focus::data {

struct TokenizerOptions {
  int64_t vocab = 8000;                // pieces, including <pad> (id 0) and <unk> (id 1)
  std::string model = "unigram";       // unigram | bpe
  double character_coverage = 0.9995;  // rarer characters become <unk>
  bool byte_fallback = true;           // unknown characters as UTF-8 byte pieces; vocab >= 300
  uint64_t seed = 1;
  int threads = 2;
  // Sentences (lines of the texts) sampled for training; 0: all.
  int64_t max_sentences = 200000;
};

class Tokenizer {
 public:
  static constexpr int32_t kPad = 0, kUnk = 1;

  // Trains on `texts` (split into lines; sentencepiece skips lines over 4 KB, so longer ones are
  // cut). Deterministic for the same texts and options. Errors name sentencepiece's message.
  static Tokenizer train(const std::vector<std::string>& texts, const TokenizerOptions& opt);
  // Reads a model file saved by save(); errors name the file.
  static Tokenizer load(const std::string& path);
  static Tokenizer from_bytes(const std::string& serialized, const std::string& origin);
  // Writes the model atomically (temporary file, then rename).
  void save(const std::string& path) const;

  std::vector<int32_t> encode(std::string_view text) const;
  // Each piece with the byte range [begin, end) of `text` it came from, for mapping pieces back to
  // words (attention views).
  struct Piece {
    int32_t id;
    size_t begin, end;
  };
  std::vector<Piece> encode_pieces(std::string_view text) const;
  std::string decode(const std::vector<int32_t>& ids) const;
  std::string piece(int32_t id) const;
  int64_t vocab_size() const;
  const std::string& bytes() const { return serialized_; }

 private:
  std::shared_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string serialized_;
};

}  // namespace focus::data
