// The spam task's attention view: a self-contained HTML page with the mail's words highlighted by
// how much the model attended to them.
#pragma once

#include <string>
#include <vector>

#include "focus/tokenizer.h"

namespace focus::cli {

struct WordWeight {
  size_t begin, end;  // byte range of the word in the text
  double weight;      // summed over the word's pieces; -1: past the truncation, not read
};

// Words are maximal runs of non-space bytes; each piece's weight goes to the word holding the
// piece's first non-space byte. pieces: the first `read` pieces were read by the model with
// weights[i] each.
std::vector<WordWeight> words_by_weight(const std::string& text,
                                        const std::vector<data::Tokenizer::Piece>& pieces,
                                        const std::vector<float>& weights, size_t read);

std::string html_escape(const std::string& s);

struct ViewInfo {
  std::string label, source, how;  // e.g. "spam", the mail's path, what the weights are
  double probability = 0;
  int64_t pieces_read = 0, pieces_total = 0;
};
std::string attention_html(const std::string& text, const std::vector<WordWeight>& words,
                           const ViewInfo& info);

}  // namespace focus::cli
