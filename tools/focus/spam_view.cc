#include "spam_view.h"

#include <algorithm>
#include <cstdio>

namespace focus::cli {
namespace {

bool blank(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

}  // namespace

std::vector<WordWeight> words_by_weight(const std::string& text,
                                        const std::vector<data::Tokenizer::Piece>& pieces,
                                        const std::vector<float>& weights, size_t read) {
  std::vector<WordWeight> words;
  for (size_t i = 0; i < text.size();) {
    if (blank(text[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && !blank(text[j])) ++j;
    words.push_back({i, j, -1.0});
    i = j;
  }
  size_t w = 0;
  for (size_t p = 0; p < pieces.size() && p < read; ++p) {
    size_t at = pieces[p].begin;
    while (at < pieces[p].end && at < text.size() && blank(text[at])) ++at;
    while (w < words.size() && words[w].end <= at) ++w;
    if (w == words.size()) break;
    if (words[w].begin > at) continue;  // a piece of white space only
    if (words[w].weight < 0) words[w].weight = 0;
    words[w].weight += p < weights.size() ? double(weights[p]) : 0.0;
  }
  return words;
}

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  return out;
}

std::string attention_html(const std::string& text, const std::vector<WordWeight>& words,
                           const ViewInfo& info) {
  double top = 0;
  for (const auto& w : words) top = std::max(top, w.weight);
  std::string body;
  size_t at = 0;
  char buf[160];
  for (const auto& w : words) {
    body += html_escape(text.substr(at, w.begin - at));
    const std::string word = html_escape(text.substr(w.begin, w.end - w.begin));
    if (w.weight < 0) {
      body += "<span class=\"unread\">" + word + "</span>";
    } else {
      // Opacity follows the weight relative to the mail's strongest word, so a page is readable
      // whatever the text's length.
      const double a = top > 0 ? w.weight / top : 0.0;
      std::snprintf(buf, sizeof buf,
                    "<span style=\"background:rgba(255,90,0,%.3f)\" title=\"%.2f%%\">", a,
                    100.0 * w.weight);
      body += buf + word + "</span>";
    }
    at = w.end;
  }
  body += html_escape(text.substr(at));
  std::snprintf(buf, sizeof buf, "%.2f%%", 100.0 * info.probability);
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>focus: attention over a mail</title>\n<style>\n"
      "body{font-family:sans-serif;margin:2em;max-width:60em;color:#222}\n"
      ".verdict{font-size:1.4em;margin-bottom:.3em}\n"
      ".spam{color:#b00}.ham{color:#060}\n"
      ".note{color:#666;font-size:.9em}\n"
      ".mail{font-family:monospace;white-space:pre-wrap;word-wrap:break-word;border:1px solid "
      "#ccc;padding:1em;line-height:1.5}\n"
      ".unread{color:#aaa}\n"
      ".legend span{padding:0 .4em}\n</style>\n</head>\n<body>\n";
  html += "<div class=\"verdict\">prediction: <b class=\"" + html_escape(info.label) + "\">" +
          html_escape(info.label) + "</b> (probability " + buf + ")</div>\n";
  html += "<div class=\"note\">" + html_escape(info.source) + "</div>\n";
  html += "<p class=\"note\">Highlight: " + html_escape(info.how) + ". The model read " +
          std::to_string(info.pieces_read) + " of " + std::to_string(info.pieces_total) +
          " subword pieces; grey text was cut off and not read. Hover a word for its share.</p>\n";
  html +=
      "<p class=\"legend note\">least <span style=\"background:rgba(255,90,0,0.1)\">&nbsp;</span>"
      "<span style=\"background:rgba(255,90,0,0.4)\">&nbsp;</span>"
      "<span style=\"background:rgba(255,90,0,0.7)\">&nbsp;</span>"
      "<span style=\"background:rgba(255,90,0,1)\">&nbsp;</span> most attention</p>\n";
  html += "<div class=\"mail\">" + body + "</div>\n</body>\n</html>\n";
  return html;
}

}  // namespace focus::cli
