// The mail parser on crafted mails: each expectation is written out by hand from the RFCs
// (822/2045/2046/2047), not taken from the parser's output.
#include <gtest/gtest.h>

#include <string>

#include "focus/mail.h"

using namespace focus::data;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST(Mail, PlainWithFoldedHeadersAndMboxLine) {
  const std::string raw =
      "From someone@example.com  Thu Aug 22 12:36:23 2002\n"
      "Subject: a folded\n"
      "\tsubject line\n"
      "From: Alice <alice@example.com>\n"
      "\n"
      "Hello Bob,\n\nsee you.\n";
  Mail m = parse_mail(raw);
  EXPECT_EQ(m.subject, "a folded subject line");
  EXPECT_EQ(m.from, "Alice <alice@example.com>");
  EXPECT_EQ(m.body, "Hello Bob,\nsee you.");
  EXPECT_TRUE(m.problems.empty());
  EXPECT_EQ(m.parts, 1);
  EXPECT_EQ(m.as_text(),
            "Subject: a folded subject line\nFrom: Alice <alice@example.com>\n\n"
            "Hello Bob,\nsee you.");
}

TEST(Mail, CrLfLineEnds) {
  Mail m = parse_mail("Subject: hi\r\nFrom: x@y\r\n\r\nbody line\r\n");
  EXPECT_EQ(m.subject, "hi");
  EXPECT_EQ(m.body, "body line");
  EXPECT_TRUE(m.problems.empty());
}

TEST(Mail, Base64Body) {
  // "Caf\xc3\xa9 au lait\n" in base64, split over two lines.
  Mail m = parse_mail(
      "Subject: b64\nContent-Type: text/plain; charset=utf-8\n"
      "Content-Transfer-Encoding: base64\n\nQ2Fmw6kgYXUg\nbGFpdAo=\n");
  EXPECT_EQ(m.body, "Caf\xc3\xa9 au lait");
  EXPECT_TRUE(m.problems.empty());
}

TEST(Mail, QuotedPrintableBodyWithSoftBreaks) {
  Mail m = parse_mail(
      "Subject: qp\nContent-Type: text/plain; charset=ISO-8859-1\n"
      "Content-Transfer-Encoding: quoted-printable\n\n"
      "Caf=E9 =3D coffee, a long li=\nne joined\n");
  EXPECT_EQ(m.body, "Caf\xc3\xa9 = coffee, a long line joined");
  EXPECT_TRUE(m.problems.empty());
}

TEST(Mail, NestedMultipartAlternativePrefersPlainAndSkipsAttachments) {
  const std::string raw =
      "Subject: nested\n"
      "MIME-Version: 1.0\n"
      "Content-Type: multipart/mixed; boundary=\"outer\"\n"
      "\n"
      "preamble is not text\n"
      "--outer\n"
      "Content-Type: multipart/alternative; boundary=inner\n"
      "\n"
      "--inner\n"
      "Content-Type: text/plain\n"
      "\n"
      "plain version\n"
      "--inner\n"
      "Content-Type: text/html\n"
      "\n"
      "<p>html version</p>\n"
      "--inner--\n"
      "--outer\n"
      "Content-Type: image/png; name=x.png\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "iVBORw0KGgo=\n"
      "--outer\n"
      "Content-Type: text/html; charset=us-ascii\n"
      "\n"
      "<html><head><style>p {color: red}</style><script>var x = 1 < 2;</script></head>"
      "<body><p>Second &amp; last</p><!-- hidden --></body></html>\n"
      "--outer--\n"
      "epilogue\n";
  Mail m = parse_mail(raw);
  EXPECT_TRUE(m.problems.empty()) << m.problems.front();
  EXPECT_EQ(m.body, "plain version\n\nSecond & last");
  EXPECT_EQ(m.attachments, 1);
  EXPECT_FALSE(contains(m.body, "preamble"));
  EXPECT_FALSE(contains(m.body, "epilogue"));
  EXPECT_FALSE(contains(m.body, "html version"));
}

TEST(Mail, HtmlToText) {
  EXPECT_EQ(html_to_text("<b>Buy</b>&nbsp;now<br>only&#160;&#36;5 &#x263A; &copy; &bogus; a<b"),
            "Buy now\nonly $5 \xe2\x98\xba \xc2\xa9 &bogus; a");
  EXPECT_EQ(html_to_text("<SCRIPT type=\"x\">alert('<p>')</SCRIPT>ok<STYLE>.a{}</style>!"), "ok !");
  EXPECT_EQ(html_to_text("<a href=\"x>y\" title='>'>link</a>"), "link");
  EXPECT_EQ(html_to_text("unclosed <!-- comment"), "unclosed");
}

TEST(Mail, LinkHosts) {
  // HTML: href, src and action values as written, quoted or not, any attribute case.
  std::vector<std::string> urls;
  EXPECT_EQ(
      html_to_text("<A HREF='http://A.example.com/x?y'>go</a><img src=http://img.example.net/p.gif "
                   "alt=\"a > b\"><form action=\"/rel\"><p title=\"href=no\">t</p>",
                   &urls),
      "go\nt");  // <p> is a block
  EXPECT_EQ(urls, std::vector<std::string>(
                      {"http://A.example.com/x?y", "http://img.example.net/p.gif", "/rel"}));

  // A whole mail: hosts of the HTML part and of links written in the text part, lower case, each
  // once, in order; relative links, mailto: and dotless hosts give none.
  Mail m = parse_mail(
      "Subject: s\nContent-Type: multipart/mixed; boundary=\"B\"\n\n"
      "--B\nContent-Type: text/plain\n\nsee https://user@Shop.Example.com:8080/a, www.deal.biz/x "
      "and\n"
      "(http://10.0.0.1/p) again HTTP://shop.example.com. no: xhttp://skip.me mailto:a@b.c\n"
      "--B\nContent-Type: text/html\n\n<a href=\"http://click.spam.info/?id=1\">Buy</a>"
      "<a href=\"#top\">top</a><a href=\"mailto:x@y.z\">m</a><a href=\"http://localhost/\">l</a>"
      "<img src='HTTP://www.DEAL.biz/i.gif'>\n--B--\n");
  EXPECT_TRUE(m.problems.empty()) << m.problems.front();
  EXPECT_EQ(m.links, std::vector<std::string>(
                         {"shop.example.com", "www.deal.biz", "10.0.0.1", "click.spam.info"}));
  EXPECT_FALSE(contains(m.body, "click.spam.info"));  // the body text is as before
  EXPECT_EQ(
      m.as_text({"Subject", "Links"}),
      "Subject: s\nLinks: shop.example.com www.deal.biz 10.0.0.1 click.spam.info\n\n" + m.body);
  // No links, no line; at most kMaxLinks hosts.
  EXPECT_EQ(parse_mail("Subject: s\n\nhi\n").as_text({"Links", "Subject"}), "Subject: s\n\nhi");
  std::string many = "Subject: s\n\n";
  for (int i = 0; i < 50; ++i) many += "http://h" + std::to_string(i) + ".example.org/ ";
  const Mail big = parse_mail(many);
  ASSERT_EQ(big.links.size(), Mail::kMaxLinks);
  EXPECT_EQ(big.links.front(), "h0.example.org");
  // A forwarded mail's links count as the mail's.
  const Mail fwd = parse_mail(
      "Subject: f\nContent-Type: message/rfc822\n\nSubject: inner\n\nat "
      "http://inner.example.com/\n");
  EXPECT_EQ(fwd.links, std::vector<std::string>({"inner.example.com"}));
}

TEST(Mail, OriginIsTheFirstHopsSender) {
  // The "from" clause alone: the receiving host, the date and the keywords after it are left out,
  // also where a comment in parentheses says "by" or "from".
  EXPECT_EQ(received_from("from a.example.com (b.example.net [192.0.2.1]) by mx.example.org "
                          "(8.11.6) with SMTP id g7; Thu, 15 Aug 2002 17:46:07 -0400"),
            "a.example.com (b.example.net [192.0.2.1])");
  EXPECT_EQ(received_from("  FROM [10.3.1.13] (helo=list.example.org) BY mx with esmtp"),
            "[10.3.1.13] (helo=list.example.org)");
  EXPECT_EQ(received_from("from hbhjhju (qmail 1 invoked by uid 5) via x"),
            "hbhjhju (qmail 1 invoked by uid 5)");
  EXPECT_EQ(received_from("from mail pickup service by shop.example.com with SMTPSVC;"),
            "mail pickup service");
  EXPECT_EQ(received_from("from unbalanced (( by x; date"), "unbalanced (( by x; date");
  EXPECT_EQ(received_from("from x.example.com;Mon, 1 Jan"), "x.example.com");
  EXPECT_EQ(received_from("(qmail 16277 invoked from network); 15 Aug 2002"), "");
  EXPECT_EQ(received_from("fromage"), "");
  EXPECT_EQ(received_from("from"), "");

  // Hops are prepended, so the bottom-most Received with a "from" clause is the first hop; one
  // without a clause (a local delivery) is passed over; folded lines are unfolded.
  const Mail m = parse_mail(
      "Received: from relay.example.net (relay.example.net [198.51.100.7])\n"
      "\tby collector.example.org with ESMTP; Thu, 15 Aug 2002\n"
      "Subject: s\n"
      "Received: from shop.example.com (dsl-1.pool.example.net\n"
      "  [203.0.113.9]) by relay.example.net; Thu, 15 Aug 2002\n"
      "Received: (qmail 1 invoked by uid 505); 15 Aug 2002\n\nbody\n");
  EXPECT_EQ(m.origin, "shop.example.com (dsl-1.pool.example.net [203.0.113.9])");
  EXPECT_EQ(m.as_text({"Subject", "Origin"}),
            "Subject: s\nOrigin: shop.example.com (dsl-1.pool.example.net [203.0.113.9])\n\nbody");
  // No Received header, no line.
  EXPECT_EQ(parse_mail("Subject: s\n\nhi\n").as_text({"Origin", "Subject"}), "Subject: s\n\nhi");
}

TEST(Mail, EncodedWordHeaders) {
  Mail m = parse_mail(
      "Subject: =?ISO-8859-1?Q?Caf=E9_cr=E8me?= =?UTF-8?B?IQ==?= and more\n"
      "From: =?utf-8?q?J=C3=BCrgen?= <j@example.de>\n\nx\n");
  EXPECT_EQ(m.subject, "Caf\xc3\xa9 cr\xc3\xa8me! and more");
  EXPECT_EQ(m.from, "J\xc3\xbcrgen <j@example.de>");
}

TEST(Mail, NonUtf8Charsets) {
  // KOI8-R "привет" (0xD0 0xD2 0xC9 0xD7 0xC5 0xD4) through iconv.
  Mail ru = parse_mail(
      "Subject: r\nContent-Type: text/plain; charset=koi8-r\n\n\xD0\xD2\xC9\xD7\xC5\xD4\n");
  EXPECT_EQ(ru.body, "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
  EXPECT_TRUE(ru.unknown_charsets.empty());
  // 8-bit bytes under a us-ascii label: read as Windows-1252.
  Mail mis = parse_mail("Subject: m\n\ncaf\xe9 \x93quoted\x94\n");
  EXPECT_EQ(mis.body, "caf\xc3\xa9 \xe2\x80\x9cquoted\xe2\x80\x9d");
  // A charset iconv does not know: Latin-1, and counted.
  Mail unk =
      parse_mail("Subject: u\nContent-Type: text/plain; charset=x-no-such-set\n\nna\xefve\n");
  EXPECT_EQ(unk.body, "na\xc3\xafve");
  ASSERT_EQ(unk.unknown_charsets.size(), 1u);
  EXPECT_EQ(unk.unknown_charsets[0], "x-no-such-set");
  EXPECT_TRUE(is_valid_utf8(unk.as_text()));
}

TEST(Mail, BrokenHeadersAreReportedNotFatal) {
  Mail none = parse_mail("just some text\nwithout headers\n");
  EXPECT_EQ(none.body, "just some text\nwithout headers");
  ASSERT_FALSE(none.problems.empty());

  Mail noblank = parse_mail("Subject: s\nthis line is body\n");
  EXPECT_EQ(noblank.subject, "s");
  EXPECT_EQ(noblank.body, "this line is body");
  EXPECT_FALSE(noblank.problems.empty());

  Mail cont = parse_mail("\tcontinuation first\nSubject: s\n\nb\n");
  EXPECT_FALSE(cont.problems.empty());

  Mail empty = parse_mail("");
  EXPECT_FALSE(empty.problems.empty());
}

TEST(Mail, BrokenMimeIsReportedNotFatal) {
  Mail unclosed = parse_mail(
      "Subject: s\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n--b\n\nsecond\n");
  EXPECT_EQ(unclosed.body, "first\n\nsecond");
  EXPECT_EQ(unclosed.problems.size(), 1u);

  Mail noboundary = parse_mail("Subject: s\nContent-Type: multipart/mixed\n\ntext\n");
  EXPECT_EQ(noboundary.body, "text");
  EXPECT_FALSE(noboundary.problems.empty());

  Mail badb64 = parse_mail("Subject: s\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n!!!\n");
  EXPECT_EQ(badb64.body, "hello");
  EXPECT_FALSE(badb64.problems.empty());

  Mail badqp = parse_mail("Subject: s\nContent-Transfer-Encoding: quoted-printable\n\na=ZZb\n");
  EXPECT_EQ(badqp.body, "a=ZZb");
  EXPECT_FALSE(badqp.problems.empty());

  // Deep nesting stops at the limit instead of recursing without bound.
  std::string deep = "Subject: deep\n";
  for (int i = 0; i < 40; ++i)
    deep += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" +
            std::to_string(i) + "\n";
  deep += "\nbottom\n";
  Mail d = parse_mail(deep);
  EXPECT_FALSE(d.problems.empty());
}

TEST(Mail, ForwardedMessageIsParsed) {
  Mail m = parse_mail(
      "Subject: fwd\nContent-Type: multipart/mixed; boundary=z\n\n--z\n\nsee below\n--z\n"
      "Content-Type: message/rfc822\n\nSubject: inner\nFrom: i@x\n\ninner body\n--z--\n");
  EXPECT_EQ(m.body, "see below\n\nSubject: inner\nFrom: i@x\n\ninner body");
}

TEST(Mail, GarbageNeverCrashes) {
  // Deterministic pseudo-random bytes with MIME-looking fragments mixed in.
  const char* frags[] = {"\n", "--b\n", "Content-Type: multipart/mixed; boundary=b\n",
                         "=?", "?=",    "=",
                         "<",  "&#",    "\r\n",
                         ":",  "\t",    "Content-Transfer-Encoding: base64\n"};
  uint64_t s = 12345;
  for (int round = 0; round < 300; ++round) {
    std::string raw;
    for (int i = 0; i < 60; ++i) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      if ((s >> 60) < 6)
        raw += frags[(s >> 33) % 12];
      else
        raw += char((s >> 40) & 0xFF);
    }
    Mail m = parse_mail(raw);
    EXPECT_TRUE(is_valid_utf8(m.as_text()));
  }
}

TEST(Mail, HeaderLinesTheClassifierReads) {
  Mail m = parse_mail(
      "To: bob@example.org\nX-Mailer: Mutt/1.4\nFrom: a@b\nSubject: s\n"
      "Content-Type: Text/HTML; charset=us-ascii\n\n<p>hi</p>\n");
  EXPECT_EQ(m.to, "bob@example.org");
  EXPECT_EQ(m.mailer, "Mutt/1.4");
  EXPECT_EQ(m.content_type, "text/html");
  EXPECT_EQ(m.as_text(),
            "Subject: s\nFrom: a@b\nTo: bob@example.org\nMailer: Mutt/1.4\nType: text/html\n\nhi");
  Mail ua = parse_mail("User-Agent: KMail\n\nx\n");
  EXPECT_EQ(ua.mailer, "KMail");
}

TEST(Mail, ChosenHeaderLinesInTheListsOrder) {
  Mail m = parse_mail(
      "Received: from relay\n"
      "Subject: =?ISO-8859-1?Q?caf=E9?=\n"
      "X-Priority: 3 (Normal)\n"
      "Message-ID:\n  <abc@host>\n"
      "X-Priority: 1\n"
      "Reply-To: x@y\n"
      "Content-Type: text/plain; charset=us-ascii\n\nbody\n");
  // Every header is kept, decoded and unfolded, in order.
  ASSERT_EQ(m.headers.size(), 7u);
  EXPECT_EQ(m.headers[1].first, "Subject");
  EXPECT_EQ(m.headers[1].second, "caf\xC3\xA9");
  EXPECT_EQ(m.headers[3].second, "<abc@host>");
  ASSERT_NE(m.header("message-id"), nullptr);
  EXPECT_EQ(m.header("X-Nothing"), nullptr);
  // Names as the list spells them, the first header of a name, absent ones skipped; "type" and
  // "mailer" are the summaries of as_text().
  EXPECT_EQ(m.as_text({"reply-to", "Subject", "X-Priority", "Cc", "Message-ID", "type", "mailer"}),
            "reply-to: x@y\nSubject: caf\xC3\xA9\nX-Priority: 3 (Normal)\nMessage-ID: <abc@host>\n"
            "type: text/plain\n\nbody");
  EXPECT_EQ(m.as_text(std::vector<std::string>{}), "body");
  EXPECT_EQ(m.as_text(), m.as_text(default_mail_fields()));
}

TEST(Mail, LongHeaderValuesAreCutOnACharacterBoundary) {
  std::string to;
  for (int i = 0; i < 100; ++i) to += "\xC3\xA9";  // 200 bytes of two-byte characters
  Mail m = parse_mail("Subject: x" + to + "\nTo: " + to + to + "\n\nb\n");
  const std::string t = m.as_text({"To", "Subject"});
  // To: 400 bytes cut to 200 (whole characters); Subject: 201 bytes cut to 199, never
  // mid-character.
  EXPECT_EQ(t, "To: " + to + "\nSubject: x" + to.substr(0, 198) + "\n\nb");
  EXPECT_TRUE(is_valid_utf8(t));
}
