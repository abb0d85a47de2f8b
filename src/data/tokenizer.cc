#include "focus/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "focus/error.h"

namespace focus::data {
namespace {

// Feeds the lines of the texts to the trainer without writing a corpus file.
class Lines : public sentencepiece::SentenceIterator {
 public:
  explicit Lines(const std::vector<std::string>& texts) : texts_(texts) { advance(); }
  bool done() const override { return text_ >= texts_.size(); }
  void Next() override { advance(); }
  const std::string& value() const override { return line_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  void advance() {
    while (text_ < texts_.size()) {
      const std::string& t = texts_[text_];
      if (pos_ >= t.size()) {
        ++text_;
        pos_ = 0;
        continue;
      }
      size_t end = t.find('\n', pos_);
      if (end == std::string::npos) end = t.size();
      line_ = t.substr(pos_, std::min<size_t>(end - pos_, kMaxLine));
      pos_ = end + 1;
      if (!line_.empty()) return;
    }
    line_.clear();
  }
  static constexpr size_t kMaxLine = 4000;  // sentencepiece's max_sentence_length is 4192 bytes
  const std::vector<std::string>& texts_;
  size_t text_ = 0, pos_ = 0;
  std::string line_;
};

}  // namespace

Tokenizer Tokenizer::train(const std::vector<std::string>& texts, const TokenizerOptions& opt) {
  FOCUS_CHECK(!texts.empty(), "tokenizer: no training texts");
  const int64_t min_vocab = opt.byte_fallback ? 300 : 8;
  FOCUS_CHECK(opt.vocab >= min_vocab, "tokenizer: vocab ", opt.vocab, " must be >= ", min_vocab,
              opt.byte_fallback ? " (256 byte pieces are reserved)" : "");
  FOCUS_CHECK(opt.model == "unigram" || opt.model == "bpe", "tokenizer: model must be 'unigram' ",
              "or 'bpe', got '", opt.model, "'");
  sentencepiece::SetRandomGeneratorSeed(unsigned(opt.seed));
  const std::unordered_map<std::string, std::string> args = {
      {"model_type", opt.model},
      {"vocab_size", std::to_string(opt.vocab)},
      {"character_coverage", std::to_string(opt.character_coverage)},
      {"pad_id", "0"},
      {"unk_id", "1"},
      {"bos_id", "-1"},
      {"eos_id", "-1"},
      {"num_threads", std::to_string(std::max(1, opt.threads))},
      {"input_sentence_size", std::to_string(opt.max_sentences)},
      {"shuffle_input_sentence", "true"},
      // Vocabularies larger than the text supports shrink instead of failing.
      {"hard_vocab_limit", "false"},
      // Characters outside the vocabulary become their UTF-8 bytes, not <unk>: no text is lost.
      {"byte_fallback", opt.byte_fallback ? "true" : "false"},
      {"minloglevel", "2"},
  };
  Lines lines(texts);
  std::string serialized;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &lines, &serialized);
  FOCUS_CHECK(status.ok(), "tokenizer: sentencepiece training failed: ", status.ToString());
  return from_bytes(serialized, "trained model");
}

Tokenizer Tokenizer::from_bytes(const std::string& serialized, const std::string& origin) {
  Tokenizer t;
  t.sp_ = std::make_shared<sentencepiece::SentencePieceProcessor>();
  const auto status = t.sp_->LoadFromSerializedProto(serialized);
  FOCUS_CHECK(status.ok(), "tokenizer: ", origin, " is not a sentencepiece model (",
              serialized.size(), " bytes): ", status.ToString());
  FOCUS_CHECK(t.sp_->pad_id() == kPad && t.sp_->unk_id() == kUnk, "tokenizer: ", origin,
              " has pad id ", t.sp_->pad_id(), " and unk id ", t.sp_->unk_id(),
              "; Focus needs 0 and 1");
  t.serialized_ = serialized;
  return t;
}

Tokenizer Tokenizer::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  FOCUS_CHECK(in.good(), "tokenizer: cannot open '", path, "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return from_bytes(ss.str(), "'" + path + "'");
}

void Tokenizer::save(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    FOCUS_CHECK(out.good(), "tokenizer: cannot write '", tmp, "'");
    out.write(serialized_.data(), std::streamsize(serialized_.size()));
    out.flush();
    FOCUS_CHECK(out.good(), "tokenizer: writing '", tmp, "' failed (", serialized_.size(),
                " bytes)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  FOCUS_CHECK(!ec, "tokenizer: cannot rename '", tmp, "' to '", path, "': ", ec.message());
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  std::vector<int> ids;
  const auto status = sp_->Encode(text, &ids);
  FOCUS_CHECK(status.ok(), "tokenizer: encode failed: ", status.ToString());
  return std::vector<int32_t>(ids.begin(), ids.end());
}

std::vector<Tokenizer::Piece> Tokenizer::encode_pieces(std::string_view text) const {
  const auto spt = sp_->EncodeAsImmutableProto(text);
  std::vector<Piece> out;
  for (const auto& p : spt.pieces()) out.push_back({int32_t(p.id()), p.begin(), p.end()});
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string text;
  const auto status = sp_->Decode(std::vector<int>(ids.begin(), ids.end()), &text);
  FOCUS_CHECK(status.ok(), "tokenizer: decode failed: ", status.ToString());
  return text;
}

std::string Tokenizer::piece(int32_t id) const {
  FOCUS_CHECK(id >= 0 && id < sp_->GetPieceSize(), "tokenizer: id ", id, " outside [0, ",
              sp_->GetPieceSize(), ")");
  return sp_->IdToPiece(id);
}

int64_t Tokenizer::vocab_size() const { return sp_->GetPieceSize(); }

}  // namespace focus::data
