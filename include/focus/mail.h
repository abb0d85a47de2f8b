// E-mail as text for classification: RFC-822 headers (folded lines, RFC 2047 encoded words), MIME
// multipart (nested, message/rfc822 included), quoted-printable and base64, HTML reduced to text,
// every charset converted to UTF-8. Malformed mails are parsed as far as they go and say what was
// wrong in `problems`; parsing never throws on bad input.
//
//   data::Mail m = data::parse_mail(raw);      // raw bytes of one mail, mbox "From " line or not
//   std::string text = m.as_text();            // "Subject: ...\nFrom: ...\n...\n\n<body>"
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace focus::data {

struct Mail {
  std::string subject, from;  // decoded, UTF-8, whitespace collapsed
  // Also decoded: To, the sending program (X-Mailer or User-Agent), the top-level content type.
  // Spam filters lean on them: legitimate bulk mail and spam often differ more there than in text.
  std::string to, mailer, content_type;
  // Every top-level header in order, values RFC 2047-decoded and white space collapsed.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;         // text/plain parts as they are, text/html parts reduced to text
  int64_t parts = 0;        // leaf MIME parts seen (1 for a plain mail)
  int64_t attachments = 0;  // non-text leaf parts (skipped)
  // Hosts of the mail's web links, lower case, in order of first appearance, each once, at most
  // kMaxLinks: href, src and action attributes of HTML parts, and http://, https://, ftp:// and
  // www. links written in text parts.
  std::vector<std::string> links;
  static constexpr size_t kMaxLinks = 32;
  // The machine the mail came from: the "from ..." clause (HELO name, reverse DNS, address) of the
  // bottom-most Received header that has one, without its " by <receiver>" part or date, so the
  // hosts that later relayed or collected the mail are not in it. "" when no Received has one.
  std::string origin;
  // Charsets iconv did not know: those parts were read as Latin-1.
  std::vector<std::string> unknown_charsets;
  // What was malformed, one short line each ("no blank line after the headers", "bad base64 in
  // part 2", ...). Empty for a well-formed mail.
  std::vector<std::string> problems;

  // The text a classifier reads: "Subject:", "From:", "To:", "Mailer:", "Type:" lines (those
  // present), a blank line, then the body.
  std::string as_text() const;
  // The same with a chosen list of header lines, in the list's order, each "Name: value" with the
  // name as the list spells it. A name is a header (any case; the first one of that name),
  // "mailer" (X-Mailer, else User-Agent), "type" (the top-level content type without its
  // parameters), "links" (the hosts of `links`, separated by spaces) or "origin" (`origin`).
  // Absent headers give no line; values are cut at kMaxHeaderBytes.
  std::string as_text(const std::vector<std::string>& fields) const;
  static constexpr size_t kMaxHeaderBytes = 200;  // a To: of 300 recipients says it in 200
  // The value of the first header called `name` (any case), or nullptr.
  const std::string* header(std::string_view name) const;
};

// The default header lines of Mail::as_text().
const std::vector<std::string>& default_mail_fields();

// Parses one mail. max_depth bounds MIME nesting (deeper parts are skipped and reported).
Mail parse_mail(std::string_view raw, int max_depth = 16);

// ---- the pieces, for tests and other formats ---------------------------------------------------

// Headers of one entity, unfolded; names as written, in order.
struct Header {
  std::string name, value;
};
struct Entity {
  std::vector<Header> headers;
  std::string_view body;  // into the parsed input
  std::vector<std::string> problems;
  // The first header called `name` (any case), or nullptr.
  const std::string* find(std::string_view name) const;
};
Entity split_entity(std::string_view raw);

// "text/html; charset=\"utf-8\"" -> type "text/html" (lower case) and parameters (names lower
// case, values unquoted).
struct ContentType {
  std::string type = "text/plain";
  std::vector<std::pair<std::string, std::string>> params;
  std::string param(std::string_view name) const;  // "" when absent
};
ContentType parse_content_type(std::string_view value);

// Decoders. `ok` (when given) is set false on malformed input; what can be decoded still is.
std::string decode_base64(std::string_view in, bool* ok = nullptr);
// underscore_is_space: the RFC 2047 "Q" form used in headers.
std::string decode_quoted_printable(std::string_view in, bool underscore_is_space = false,
                                    bool* ok = nullptr);
// RFC 2047 encoded words (=?charset?B|Q?...?=) in a header value, converted to UTF-8.
std::string decode_header_words(std::string_view value,
                                std::vector<std::string>* unknown = nullptr);

// Bytes in `charset` to UTF-8 (iconv). Empty charset, us-ascii and utf-8: kept where valid UTF-8,
// otherwise read as Windows-1252/Latin-1 (mislabelled 8-bit mail is common). Returns false in
// `known` when iconv does not know the charset (then the bytes are read as Latin-1).
std::string to_utf8(std::string_view bytes, std::string_view charset, bool* known = nullptr);
bool is_valid_utf8(std::string_view s);

// The "from ..." clause of one Received header value: "from a.example.com (b.example.net
// [192.0.2.1]) by mx.example.org with SMTP; <date>" -> "a.example.com (b.example.net [192.0.2.1])".
// It ends at the first " by ", " with ", " id ", " for ", " via " or ";" outside parentheses (an
// unclosed one runs to the end). "" when the value does not start with "from".
std::string received_from(std::string_view value);

// HTML to text: tags dropped (block tags become line breaks), <script>, <style> and comments
// dropped with their content, character references (&amp; &#233; &#xE9; and the common named ones)
// decoded, runs of white space collapsed. With `links`, the values of href, src and action
// attributes are appended to it, as written.
std::string html_to_text(std::string_view html, std::vector<std::string>* links = nullptr);

}  // namespace focus::data
