#include "focus/mail.h"

#include <iconv.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace focus::data {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool istarts(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Collapses runs of white space to one space (or one newline where a run held 2+ newlines).
std::string collapse(std::string_view s, bool keep_paragraphs) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (!space(s[i])) {
      out += s[i++];
      continue;
    }
    int newlines = 0;
    while (i < s.size() && space(s[i])) newlines += s[i++] == '\n';
    if (out.empty() || i == s.size()) continue;
    out += keep_paragraphs && newlines >= 1 ? '\n' : ' ';
  }
  return out;
}

// One line of `s` starting at `pos`, without its terminator; pos moves past the terminator.
std::string_view next_line(std::string_view s, size_t& pos) {
  const size_t start = pos;
  size_t end = s.find('\n', pos);
  if (end == std::string_view::npos) {
    pos = s.size();
    end = s.size();
  } else {
    pos = end + 1;
  }
  std::string_view line = s.substr(start, end - start);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool header_name_char(char c) { return c > 32 && c < 127 && c != ':'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

// Windows-1252's 0x80-0x9F (mislabelled "iso-8859-1" mail uses them); other bytes are Latin-1.
constexpr uint16_t kCp1252[32] = {0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
                                  0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
                                  0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                  0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};

std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (unsigned char c : s) {
    if (c < 0x80)
      out += char(c);
    else if (c < 0xA0)
      append_utf8(out, kCp1252[c - 0x80]);
    else
      append_utf8(out, c);
  }
  return out;
}

// iconv from `charset`; false when iconv cannot open it. Bytes it cannot convert become U+FFFD.
bool iconv_to_utf8(std::string_view in, const std::string& charset, std::string& out) {
  iconv_t cd = iconv_open("UTF-8", charset.c_str());
  if (cd == iconv_t(-1)) return false;
  out.clear();
  std::string buf(4096, '\0');
  char* src = const_cast<char*>(in.data());
  size_t left = in.size();
  while (left > 0) {
    char* dst = buf.data();
    size_t room = buf.size();
    const size_t r = iconv(cd, &src, &left, &dst, &room);
    out.append(buf.data(), buf.size() - room);
    if (r == size_t(-1)) {
      if (errno == E2BIG) continue;
      // EILSEQ (a byte not in the charset) or EINVAL (truncated sequence at the end): skip it.
      out += "\xEF\xBF\xBD";
      ++src;
      --left;
      iconv(cd, nullptr, nullptr, nullptr, nullptr);
    }
  }
  char* dst = buf.data();
  size_t room = buf.size();
  iconv(cd, nullptr, nullptr, &dst, &room);  // flush shift states
  out.append(buf.data(), buf.size() - room);
  iconv_close(cd);
  return true;
}

std::string normalise_charset(std::string_view charset) {
  std::string c = to_lower(trim(charset));
  if (!c.empty() && (c.front() == '"' || c.front() == '\'')) c.erase(0, 1);
  if (!c.empty() && (c.back() == '"' || c.back() == '\'')) c.pop_back();
  // Common mislabels and aliases iconv spells differently.
  if (c == "ascii" || c == "us_ascii" || c == "ansi_x3.4-1968" || c == "7bit") return "us-ascii";
  if (c == "utf8") return "utf-8";
  if (c == "latin1" || c == "latin-1" || c == "iso8859-1" || c == "iso_8859-1") return "iso-8859-1";
  if (c == "ks_c_5601-1987") return "cp949";
  if (c == "x-gbk") return "gbk";
  return c;
}

// ---- HTML ---------------------------------------------------------------------------------------

struct NamedEntity {
  const char* name;
  uint32_t cp;
};
constexpr NamedEntity kEntities[] = {
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},        {"quot", '"'},     {"apos", '\''},
    {"nbsp", 0xA0},    {"copy", 0xA9},    {"reg", 0xAE},      {"trade", 0x2122}, {"euro", 0x20AC},
    {"pound", 0xA3},   {"yen", 0xA5},     {"cent", 0xA2},     {"sect", 0xA7},    {"deg", 0xB0},
    {"middot", 0xB7},  {"bull", 0x2022},  {"hellip", 0x2026}, {"ndash", 0x2013}, {"mdash", 0x2014},
    {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C},  {"rdquo", 0x201D}, {"laquo", 0xAB},
    {"raquo", 0xBB},   {"times", 0xD7},   {"divide", 0xF7},   {"eacute", 0xE9},  {"egrave", 0xE8},
    {"agrave", 0xE0},  {"aacute", 0xE1},  {"ccedil", 0xE7},   {"uuml", 0xFC},    {"ouml", 0xF6},
    {"auml", 0xE4},    {"szlig", 0xDF},   {"iexcl", 0xA1},    {"iquest", 0xBF},  {"shy", 0xAD},
    {"ntilde", 0xF1},  {"oacute", 0xF3},  {"iacute", 0xED},   {"uacute", 0xFA},  {"ecirc", 0xEA},
};

// Decodes the reference at s[i] == '&'; returns the bytes consumed (0: not a reference).
size_t decode_entity(std::string_view s, size_t i, std::string& out) {
  size_t j = i + 1;
  if (j < s.size() && s[j] == '#') {
    ++j;
    const bool hex = j < s.size() && (s[j] == 'x' || s[j] == 'X');
    if (hex) ++j;
    uint32_t cp = 0;
    size_t digits = 0;
    while (j < s.size() && digits < 8) {
      const int v = hex ? hex_value(s[j]) : (s[j] >= '0' && s[j] <= '9' ? s[j] - '0' : -1);
      if (v < 0) break;
      cp = cp * (hex ? 16 : 10) + uint32_t(v);
      ++j, ++digits;
    }
    if (digits == 0) return 0;
    if (j < s.size() && s[j] == ';') ++j;
    if (cp >= 0x80 && cp < 0xA0) cp = kCp1252[cp - 0x80];  // as browsers do
    append_utf8(out, cp == 0xA0 ? ' ' : cp);
    return j - i;
  }
  size_t k = j;
  while (k < s.size() && k - j < 10 && std::isalnum(static_cast<unsigned char>(s[k]))) ++k;
  const std::string name(s.substr(j, k - j));
  for (const auto& e : kEntities)
    if (name == e.name || (std::strlen(e.name) <= 4 && iequals(name, e.name))) {
      append_utf8(out, e.cp == 0xA0 ? ' ' : e.cp);
      return (k < s.size() && s[k] == ';' ? k + 1 : k) - i;
    }
  return 0;
}

bool block_tag(std::string_view name) {
  static const char* kBlocks[] = {"br",    "p",          "div", "tr",    "li",     "h1", "h2", "h3",
                                  "h4",    "h5",         "h6",  "td",    "th",     "hr", "ul", "ol",
                                  "table", "blockquote", "pre", "title", "center", "dd", "dt"};
  for (const char* b : kBlocks)
    if (iequals(name, b)) return true;
  return false;
}

std::string decode_body(std::string_view body, const std::string& encoding, Mail& mail,
                        const std::string& where) {
  if (encoding == "base64") {
    bool ok = true;
    std::string out = decode_base64(body, &ok);
    if (!ok) mail.problems.push_back("bad base64 in " + where);
    return out;
  }
  if (encoding == "quoted-printable") {
    bool ok = true;
    std::string out = decode_quoted_printable(body, false, &ok);
    if (!ok) mail.problems.push_back("bad quoted-printable in " + where);
    return out;
  }
  if (!encoding.empty() && encoding != "7bit" && encoding != "8bit" && encoding != "binary")
    mail.problems.push_back("unknown transfer encoding '" + encoding + "' in " + where);
  return std::string(body);
}

void append_text(std::string& out, const std::string& text) {
  if (text.empty()) return;
  if (!out.empty()) out += "\n\n";
  out += text;
}

// The host of a web link ("HTTP://Www.Example.com:80/x" -> "www.example.com"; "www.a.org/b" ->
// "www.a.org"), or "" for anything else (relative links, mailto:, javascript:, "#top").
std::string link_host(std::string_view url) {
  url = trim(url);
  size_t start;
  if (istarts(url, "http://")) {
    start = 7;
  } else if (istarts(url, "https://")) {
    start = 8;
  } else if (istarts(url, "ftp://")) {
    start = 6;
  } else if (istarts(url, "www.")) {
    start = 0;
  } else {
    return "";
  }
  size_t end = start;
  while (end < url.size() && !space(url[end]) &&
         std::strchr("/?#:\"'<>()[]{},;|\\", url[end]) == nullptr)
    ++end;
  std::string_view host = url.substr(start, end - start);
  if (const size_t at = host.rfind('@'); at != std::string_view::npos) host.remove_prefix(at + 1);
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host.find('.') == std::string_view::npos ? "" : to_lower(host);
}

void add_link(std::vector<std::string>& links, std::string host) {
  if (host.empty() || links.size() >= Mail::kMaxLinks) return;
  if (std::find(links.begin(), links.end(), host) == links.end()) links.push_back(std::move(host));
}

// Links written out in plain text: http(s)://, ftp:// and www. at the start of a word.
void scan_links(std::string_view text, std::vector<std::string>& links) {
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = lower(text[i]);
    if (c != 'h' && c != 'f' && c != 'w') continue;
    if (i > 0 && (std::isalnum(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '.'))
      continue;
    const std::string host = link_host(text.substr(i, 300));
    if (host.empty()) continue;
    add_link(links, host);
    i += host.size();
  }
}

// Collects the text of `raw` (one MIME entity) into mail.body.
void walk(std::string_view raw, Mail& mail, int depth, int max_depth, const std::string& where,
          const ContentType* default_type);

void walk_multipart(const Entity& e, const ContentType& ct, Mail& mail, int depth, int max_depth,
                    const std::string& where) {
  const std::string boundary = ct.param("boundary");
  if (boundary.empty()) {
    mail.problems.push_back(where + ": " + ct.type + " without a boundary; read as text");
    ++mail.parts;
    append_text(mail.body, collapse(to_utf8(e.body, "", nullptr), true));
    return;
  }
  const std::string delim = "--" + boundary;
  std::vector<std::string_view> parts;
  size_t pos = 0, part_start = std::string_view::npos;
  bool closed = false;
  while (pos < e.body.size()) {
    const size_t line_start = pos;
    std::string_view line = next_line(e.body, pos);
    if (line.size() >= delim.size() && line.substr(0, delim.size()) == delim) {
      std::string_view rest = trim(line.substr(delim.size()));
      const bool close = rest.substr(0, 2) == "--";
      if (!rest.empty() && !close) continue;  // a longer boundary that starts with this one
      if (part_start != std::string_view::npos) {
        // The line break before the delimiter belongs to the delimiter.
        size_t end = line_start;
        if (end > part_start && e.body[end - 1] == '\n') --end;
        if (end > part_start && e.body[end - 1] == '\r') --end;
        parts.push_back(e.body.substr(part_start, end - part_start));
      }
      if (close) {
        closed = true;
        break;
      }
      part_start = pos;
    }
  }
  if (!closed) {
    if (part_start != std::string_view::npos)
      parts.push_back(e.body.substr(part_start));  // the unterminated last part
    mail.problems.push_back(where + ": multipart without its closing boundary");
  }
  if (parts.empty()) {
    mail.problems.push_back(where + ": multipart with no parts");
    return;
  }
  ContentType digest_default;
  digest_default.type = "message/rfc822";
  const ContentType* child_default = ct.type == "multipart/digest" ? &digest_default : nullptr;
  if (ct.type == "multipart/alternative") {
    // The same content in several forms: the plain text when there is one, else the richest.
    int chosen = -1;
    for (size_t i = 0; i < parts.size(); ++i) {
      const Entity pe = split_entity(parts[i]);
      const std::string* t = pe.find("Content-Type");
      const std::string type = t ? parse_content_type(*t).type : "text/plain";
      if (type == "text/plain") {
        chosen = int(i);
        break;
      }
      if (type == "text/html" || type.rfind("multipart/", 0) == 0) chosen = int(i);
    }
    if (chosen < 0) chosen = int(parts.size()) - 1;
    walk(parts[size_t(chosen)], mail, depth + 1, max_depth,
         where + "." + std::to_string(chosen + 1), nullptr);
    return;
  }
  for (size_t i = 0; i < parts.size(); ++i)
    walk(parts[i], mail, depth + 1, max_depth, where + "." + std::to_string(i + 1), child_default);
}

void walk(std::string_view raw, Mail& mail, int depth, int max_depth, const std::string& where,
          const ContentType* default_type) {
  if (depth > max_depth) {
    mail.problems.push_back(where + ": MIME nesting deeper than " + std::to_string(max_depth));
    return;
  }
  Entity e = split_entity(raw);
  for (const auto& p : e.problems) mail.problems.push_back(where + ": " + p);
  const std::string* ct_header = e.find("Content-Type");
  ContentType ct =
      ct_header ? parse_content_type(*ct_header) : (default_type ? *default_type : ContentType{});
  if (ct_header && ct.type.find('/') == std::string::npos) {
    mail.problems.push_back(where + ": bad Content-Type '" + std::string(trim(*ct_header)) + "'");
    ct = ContentType{};
  }
  const std::string* cte = e.find("Content-Transfer-Encoding");
  const std::string encoding = cte ? to_lower(trim(*cte)) : "";
  if (ct.type.rfind("multipart/", 0) == 0) {
    walk_multipart(e, ct, mail, depth, max_depth, where);
    return;
  }
  if (ct.type == "message/rfc822") {
    const std::string inner = decode_body(e.body, encoding, mail, where);
    Mail sub = parse_mail(inner, max_depth - depth - 1);
    std::string text = sub.as_text();
    mail.parts += sub.parts;
    mail.attachments += sub.attachments;
    for (auto& l : sub.links) add_link(mail.links, std::move(l));
    for (auto& p : sub.problems) mail.problems.push_back(where + ": " + p);
    for (auto& c : sub.unknown_charsets) mail.unknown_charsets.push_back(c);
    append_text(mail.body, text);
    return;
  }
  ++mail.parts;
  const bool html = ct.type == "text/html";
  if (ct.type.rfind("text/", 0) != 0 || ct.type == "text/x-vcard" || ct.type == "text/calendar") {
    ++mail.attachments;
    return;
  }
  const std::string decoded = decode_body(e.body, encoding, mail, where);
  bool known = true;
  const std::string charset = ct.param("charset");
  std::string text = to_utf8(decoded, charset, &known);
  if (!known) mail.unknown_charsets.push_back(charset);
  if (html) {
    std::vector<std::string> urls;
    append_text(mail.body, html_to_text(text, &urls));
    for (const auto& u : urls) add_link(mail.links, link_host(u));
  } else {
    scan_links(text, mail.links);
    append_text(mail.body, collapse(text, true));
  }
}

// The values of href=, src= and action= attributes in the inside of one tag ("a href='x'").
void collect_links(std::string_view tag, std::vector<std::string>& out) {
  size_t i = 0;
  while (i < tag.size()) {
    // An attribute name, then optional "= value".
    while (i < tag.size() && !std::isalpha(static_cast<unsigned char>(tag[i]))) {
      if (tag[i] == '"' || tag[i] == '\'') {  // a stray quoted run: skip it whole
        const size_t end = tag.find(tag[i], i + 1);
        i = end == std::string_view::npos ? tag.size() : end + 1;
        continue;
      }
      ++i;
    }
    const size_t name_start = i;
    while (i < tag.size() && (std::isalnum(static_cast<unsigned char>(tag[i])) || tag[i] == '-'))
      ++i;
    const std::string_view name = tag.substr(name_start, i - name_start);
    while (i < tag.size() && space(tag[i])) ++i;
    if (i >= tag.size() || tag[i] != '=') continue;
    ++i;
    while (i < tag.size() && space(tag[i])) ++i;
    std::string_view value;
    if (i < tag.size() && (tag[i] == '"' || tag[i] == '\'')) {
      const size_t end = tag.find(tag[i], i + 1);
      const size_t stop = end == std::string_view::npos ? tag.size() : end;
      value = tag.substr(i + 1, stop - i - 1);
      i = stop + 1;
    } else {
      const size_t start = i;
      while (i < tag.size() && !space(tag[i])) ++i;
      value = tag.substr(start, i - start);
    }
    if (iequals(name, "href") || iequals(name, "src") || iequals(name, "action"))
      out.emplace_back(value);
  }
}

}  // namespace

// ---- public -------------------------------------------------------------------------------------

const std::string* Entity::find(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

std::string ContentType::param(std::string_view name) const {
  for (const auto& [k, v] : params)
    if (k == name) return v;
  return "";
}

Entity split_entity(std::string_view raw) {
  Entity e;
  size_t pos = 0;
  // An mbox separator line ("From someone@host  Thu Aug 22 ...") is not a header.
  if (raw.substr(0, 5) == "From ") next_line(raw, pos);
  int bad_lines = 0;
  while (pos < raw.size()) {
    const size_t line_start = pos;
    std::string_view line = next_line(raw, pos);
    if (line.empty()) {
      break;
    }
    if ((line[0] == ' ' || line[0] == '\t')) {
      if (e.headers.empty()) {
        ++bad_lines;
        continue;
      }
      std::string& v = e.headers.back().value;
      v += ' ';
      v += trim(line);
      continue;
    }
    size_t colon = 0;
    while (colon < line.size() && header_name_char(line[colon])) ++colon;
    if (colon == 0 || colon >= line.size() || line[colon] != ':') {
      if (e.headers.empty()) {
        // Not a header block at all: the whole entity is body.
        e.problems.push_back("no headers");
        e.body = raw.substr(line_start);
        return e;
      }
      // A header block that ends without the blank line: the body starts here.
      e.problems.push_back("no blank line after the headers");
      e.body = raw.substr(line_start);
      return e;
    }
    e.headers.push_back(
        {std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1)))});
  }
  if (bad_lines > 0)
    e.problems.push_back(std::to_string(bad_lines) + " continuation line(s) before any header");
  e.body = raw.substr(std::min(pos, raw.size()));
  return e;
}

ContentType parse_content_type(std::string_view value) {
  ContentType ct;
  size_t semi = value.find(';');
  ct.type = to_lower(trim(value.substr(0, semi)));
  while (semi != std::string_view::npos) {
    size_t i = semi + 1;
    while (i < value.size() && space(value[i])) ++i;
    const size_t eq = value.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string name = to_lower(trim(value.substr(i, eq - i)));
    std::string v;
    size_t j = eq + 1;
    while (j < value.size() && space(value[j])) ++j;
    if (j < value.size() && value[j] == '"') {
      ++j;
      while (j < value.size() && value[j] != '"') {
        if (value[j] == '\\' && j + 1 < value.size()) ++j;
        v += value[j++];
      }
      semi = value.find(';', j);
    } else {
      semi = value.find(';', j);
      v = std::string(trim(value.substr(j, semi == std::string_view::npos ? semi : semi - j)));
    }
    if (!name.empty()) ct.params.emplace_back(std::move(name), std::move(v));
  }
  return ct;
}

std::string decode_base64(std::string_view in, bool* ok) {
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  bool good = true, ended = false;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+')
      v = 62;
    else if (c == '/')
      v = 63;
    else if (c == '=') {
      ended = true;
      continue;
    } else {
      if (!space(c)) good = false;
      continue;
    }
    if (ended) good = false;  // data after padding
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xFF);
    }
  }
  if (bits >= 6) good = false;  // a lone trailing character
  if (ok) *ok = good;
  return out;
}

std::string decode_quoted_printable(std::string_view in, bool underscore_is_space, bool* ok) {
  std::string out;
  out.reserve(in.size());
  bool good = true;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '_' && underscore_is_space) {
      out += ' ';
    } else if (c == '=') {
      // Soft line break: '=' then optional trailing white space then the line end.
      size_t j = i + 1;
      while (j < in.size() && (in[j] == ' ' || in[j] == '\t')) ++j;
      if (j < in.size() && (in[j] == '\r' || in[j] == '\n')) {
        if (in[j] == '\r' && j + 1 < in.size() && in[j + 1] == '\n') ++j;
        i = j;
      } else if (j >= in.size()) {
        i = j;
      } else if (i + 2 < in.size() + 0 && hex_value(in[i + 1]) >= 0 && hex_value(in[i + 2]) >= 0) {
        out += char(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2]));
        i += 2;
      } else {
        good = false;  // a bare '=': keep it, as most readers do
        out += c;
      }
    } else {
      out += c;
    }
  }
  if (ok) *ok = good;
  return out;
}

std::string decode_header_words(std::string_view value, std::vector<std::string>* unknown) {
  std::string out;
  size_t i = 0;
  bool last_was_word = false;
  std::string pending_space;
  while (i < value.size()) {
    const size_t start = value.find("=?", i);
    if (start == std::string_view::npos) {
      out += pending_space;
      out += to_utf8(value.substr(i), "");
      break;
    }
    const size_t q1 = value.find('?', start + 2);
    const size_t q2 = q1 == std::string_view::npos ? q1 : value.find('?', q1 + 1);
    const size_t end = q2 == std::string_view::npos ? q2 : value.find("?=", q2 + 1);
    if (end == std::string_view::npos || q2 != q1 + 2) {
      out += pending_space;
      out += to_utf8(value.substr(i, start + 2 - i), "");
      pending_space.clear();
      i = start + 2;
      last_was_word = false;
      continue;
    }
    std::string_view between = value.substr(i, start - i);
    // White space between two encoded words is not part of the text (RFC 2047 6.2).
    if (!(last_was_word && trim(between).empty())) {
      out += pending_space;
      out += to_utf8(between, "");
    }
    pending_space.clear();
    std::string charset(value.substr(start + 2, q1 - start - 2));
    if (const size_t star = charset.find('*'); star != std::string::npos) charset.resize(star);
    const char enc = lower(value[q1 + 1]);
    std::string_view payload = value.substr(q2 + 1, end - q2 - 1);
    const std::string bytes =
        enc == 'b' ? decode_base64(payload) : decode_quoted_printable(payload, true);
    bool known = true;
    out += to_utf8(bytes, charset, &known);
    if (!known && unknown) unknown->push_back(charset);
    i = end + 2;
    last_was_word = true;
  }
  return collapse(out, false);
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    if (n < 0 || (c >= 0xC0 && c < 0xC2) || c > 0xF4) return false;
    if (i + size_t(n) >= s.size()) return false;
    for (int k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + size_t(k)]) >> 6) != 2) return false;
    i += size_t(n) + 1;
  }
  return true;
}

std::string to_utf8(std::string_view bytes, std::string_view charset, bool* known) {
  if (known) *known = true;
  const std::string c = normalise_charset(charset);
  if (c.empty() || c == "us-ascii" || c == "utf-8" || c == "iso-8859-1" || c == "windows-1252" ||
      c == "cp1252") {
    if ((c != "iso-8859-1" && c != "windows-1252" && c != "cp1252") && is_valid_utf8(bytes))
      return std::string(bytes);
    return latin1_to_utf8(bytes);
  }
  std::string out;
  if (iconv_to_utf8(bytes, c, out)) return out;
  if (known) *known = false;
  return latin1_to_utf8(bytes);
}

std::string html_to_text(std::string_view s, std::vector<std::string>* links) {
  std::string out;
  out.reserve(s.size() / 2);
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '&') {
      const size_t used = decode_entity(s, i, out);
      if (used == 0) out += c;
      i += used == 0 ? 1 : used;
      continue;
    }
    if (c != '<') {
      out += c;
      ++i;
      continue;
    }
    if (s.substr(i, 4) == "<!--") {
      const size_t end = s.find("-->", i + 4);
      i = end == std::string_view::npos ? s.size() : end + 3;
      continue;
    }
    // A tag: <name ...> or </name>; '<' not followed by a letter, '/' or '!' is text.
    size_t j = i + 1;
    const bool closing = j < s.size() && s[j] == '/';
    if (closing) ++j;
    if (j >= s.size() ||
        !(std::isalpha(static_cast<unsigned char>(s[j])) || s[j] == '!' || s[j] == '?')) {
      out += c;
      ++i;
      continue;
    }
    size_t k = j;
    while (k < s.size() && (std::isalnum(static_cast<unsigned char>(s[k])) || s[k] == '!')) ++k;
    const std::string name = to_lower(s.substr(j, k - j));
    // The tag's end, skipping quoted attribute values.
    char quote = 0;
    while (k < s.size()) {
      if (quote) {
        if (s[k] == quote) quote = 0;
      } else if (s[k] == '"' || s[k] == '\'') {
        quote = s[k];
      } else if (s[k] == '>') {
        break;
      }
      ++k;
    }
    if (links && !closing) collect_links(s.substr(j, k - j), *links);
    i = k < s.size() ? k + 1 : s.size();
    if (!closing && (name == "script" || name == "style")) {
      // Their content is not text; skip to the matching close tag (any case).
      size_t end = i;
      const std::string close = "</" + name;
      while (end < s.size() && !istarts(s.substr(end), close)) ++end;
      const size_t gt = s.find('>', end);
      i = gt == std::string_view::npos ? s.size() : gt + 1;
      out += ' ';
      continue;
    }
    out += block_tag(name) ? '\n' : ' ';
  }
  return collapse(out, true);
}

std::string received_from(std::string_view value) {
  std::string_view v = trim(value);
  if (!istarts(v, "from") || v.size() < 5 || !space(v[4])) return "";
  v = trim(v.substr(5));
  // Comments in parentheses hold the reverse DNS and the address, and may say "by" themselves
  // ("(qmail 123 invoked by uid 505)"), so the clause ends only at a keyword outside them.
  static constexpr std::string_view kEnds[] = {"by", "with", "id", "for", "via"};
  int depth = 0;
  size_t end = v.size();
  for (size_t i = 0; i < v.size() && end == v.size(); ++i) {
    if (v[i] == '(') {
      ++depth;
    } else if (v[i] == ')') {
      depth = std::max(depth - 1, 0);
    } else if (depth == 0 && v[i] == ';') {
      end = i;
    } else if (depth == 0 && space(v[i])) {
      const std::string_view rest = v.substr(i + 1);
      for (std::string_view k : kEnds)
        if (istarts(rest, k) && (rest.size() == k.size() || space(rest[k.size()]))) end = i;
    }
  }
  return std::string(trim(v.substr(0, end)));
}

const std::vector<std::string>& default_mail_fields() {
  static const std::vector<std::string> fields = {"Subject", "From", "To", "Mailer", "Type"};
  return fields;
}

const std::string* Mail::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return &v;
  return nullptr;
}

std::string Mail::as_text() const { return as_text(default_mail_fields()); }

std::string Mail::as_text(const std::vector<std::string>& fields) const {
  std::string t, links_line;
  for (const std::string& f : fields) {
    std::string_view v;
    if (iequals(f, "subject")) {
      v = subject;
    } else if (iequals(f, "from")) {
      v = from;
    } else if (iequals(f, "to")) {
      v = to;
    } else if (iequals(f, "mailer")) {
      v = mailer;
    } else if (iequals(f, "type")) {
      v = content_type;
    } else if (iequals(f, "links")) {
      for (const std::string& l : links) links_line += (links_line.empty() ? "" : " ") + l;
      v = links_line;
    } else if (iequals(f, "origin")) {
      v = origin;
    } else if (const std::string* h = header(f)) {
      v = *h;
    }
    if (v.empty()) continue;
    if (v.size() > kMaxHeaderBytes) {
      size_t cut = kMaxHeaderBytes;  // on a UTF-8 character boundary
      while (cut > 0 && (static_cast<unsigned char>(v[cut]) & 0xC0) == 0x80) --cut;
      v = v.substr(0, cut);
    }
    t += f;
    t += ": ";
    t += v;
    t += '\n';
  }
  if (!t.empty()) t += "\n";
  return t + body;
}

Mail parse_mail(std::string_view raw, int max_depth) {
  Mail mail;
  if (raw.empty()) {
    mail.problems.push_back("empty mail");
    return mail;
  }
  const Entity top = split_entity(raw);
  if (const std::string* s = top.find("Subject"))
    mail.subject = decode_header_words(*s, &mail.unknown_charsets);
  if (const std::string* f = top.find("From"))
    mail.from = decode_header_words(*f, &mail.unknown_charsets);
  if (const std::string* t = top.find("To"))
    mail.to = decode_header_words(*t, &mail.unknown_charsets);
  const std::string* mailer = top.find("X-Mailer");
  if (!mailer) mailer = top.find("User-Agent");
  if (mailer) mail.mailer = decode_header_words(*mailer, &mail.unknown_charsets);
  if (const std::string* ct = top.find("Content-Type"))
    mail.content_type = parse_content_type(*ct).type;
  std::vector<std::string> unknown;
  for (const Header& h : top.headers)
    mail.headers.emplace_back(h.name, collapse(decode_header_words(h.value, &unknown), false));
  // Received headers are prepended hop by hop, so the bottom-most one is the first hop.
  for (auto h = mail.headers.rbegin(); h != mail.headers.rend() && mail.origin.empty(); ++h)
    if (iequals(h->first, "Received")) mail.origin = received_from(h->second);
  for (const std::string& c : unknown)  // the fields above met most of them already
    if (std::find(mail.unknown_charsets.begin(), mail.unknown_charsets.end(), c) ==
        mail.unknown_charsets.end())
      mail.unknown_charsets.push_back(c);
  walk(raw, mail, 0, std::max(max_depth, 0), "part 1", nullptr);
  return mail;
}

}  // namespace focus::data
