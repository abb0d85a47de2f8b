// The spam task: the SpamAssassin public corpus (scripts/fetch_spam.sh), mails parsed to text
// (focus/mail.h), a sentencepiece tokeniser trained on the training split only and saved in the
// model directory, token ids padded with 0. Labels: 0 ham, 1 spam. Predict reads a mail file.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "app.h"
#include "focus/mail.h"
#include "focus/metrics.h"
#include "focus/runtime.h"
#include "focus/tokenizer.h"
#include "spam_view.h"

namespace focus::cli {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kClasses = {"ham", "spam"};

// The mail files of one split, with their token ids and labels.
class MailSet : public data::Dataset {
 public:
  MailSet(Tensor ids, std::vector<int32_t> labels, std::vector<std::string> paths)
      : set_(std::move(ids), std::move(labels)), paths_(std::move(paths)) {}
  int64_t size() const override { return set_.size(); }
  data::Example get(int64_t i) const override { return set_.get(i); }
  const std::vector<int32_t>& labels() const { return set_.labels(); }
  std::string source(int64_t i) const override { return paths_[size_t(i)]; }  // the mail's file

 private:
  data::TensorDataset set_;
  std::vector<std::string> paths_;
};

// A mail's corpus group: the folder it is in ("hard-ham-1", "spam-2", ...).
std::string group_of(const std::string& path) {
  return fs::path(path).parent_path().filename().string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  FOCUS_CHECK(in.good(), "spam: cannot read '", path, "'");
  std::stringstream ss;
  ss << in.rdbuf();
  FOCUS_CHECK(!in.bad(), "spam: reading '", path, "' failed");
  return ss.str();
}

std::string default_corpus() {
  const char* cache = std::getenv("FOCUS_CACHE");
  return (fs::path(cache && *cache ? cache : ".cache") / "spam" / "data").string();
}

// What the model reads of a mail: which header lines, how much of the body.
struct TextOptions {
  std::vector<std::string> fields = data::default_mail_fields();
  int64_t length = 256;       // pieces, the first ones of the text
  int64_t max_chars = 20000;  // bytes cut into pieces
};

// The header names of a data.headers list; anything but letters, digits, '-' and '_' is an error.
std::vector<std::string> split_fields(const std::string& list) {
  std::vector<std::string> out = config::split_list(list);
  for (const std::string& f : out)
    for (char c : f)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
        throw config::ConfigError("config: data.headers: '" + f + "' is not a header name");
  return out;
}

std::string join_fields(const std::vector<std::string>& fields) {
  std::string out;
  for (const auto& f : fields) out += (out.empty() ? "" : ",") + f;
  return out;
}

// The text the model reads: the chosen header lines and the body, cut at max_chars bytes (on a
// UTF-8 character boundary) so that very long mails cost nothing past what is read.
std::string mail_text(const std::string& raw, const TextOptions& o, data::Mail* parsed = nullptr) {
  data::Mail m = data::parse_mail(raw);
  std::string t = m.as_text(o.fields);
  if (int64_t(t.size()) > o.max_chars) {
    size_t cut = size_t(o.max_chars);
    while (cut > 0 && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) --cut;
    t.resize(cut);
  }
  if (parsed) *parsed = std::move(m);
  return t;
}

// Ids [N, length] padded with Tokenizer::kPad.
Tensor encode_all(const data::Tokenizer& tok, const std::vector<std::string>& texts,
                  const TextOptions& o, int64_t* truncated, double* mean_pieces) {
  const int64_t length = o.length;
  std::vector<int32_t> ids(texts.size() * size_t(length), data::Tokenizer::kPad);
  int64_t cut = 0;
  double total = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<int32_t> t = tok.encode(texts[i]);
    total += double(t.size());
    cut += int64_t(t.size()) > length;
    std::copy_n(t.begin(), std::min<size_t>(t.size(), size_t(length)),
                ids.begin() + int64_t(i) * length);
  }
  if (truncated) *truncated = cut;
  if (mean_pieces) *mean_pieces = texts.empty() ? 0.0 : total / double(texts.size());
  return Tensor::from_indices(ids, {int64_t(texts.size()), length});
}

class SpamTask : public Task {
 public:
  Splits load(config::Reader& r, const TaskContext& ctx) const override {
    const std::string corpus = r.string("path", default_corpus());
    TextOptions text;
    text.length = r.integer("length", 256, 8, 1 << 16);
    text.max_chars = r.integer("max_chars", 20000, 64, int64_t(1) << 30);
    text.fields = split_fields(r.string("headers", join_fields(data::default_mail_fields())));
    data::TokenizerOptions topt;
    topt.vocab = r.integer("vocab", 8000, 300, 1 << 20);
    topt.model = r.string("tokenizer", "unigram", {"unigram", "bpe"});
    const float val_frac = float(r.number("validation", 0.1, 0.01, 0.5));
    const float test_frac = float(r.number("test", 0.2, 0.01, 0.5));
    const uint64_t seed = uint64_t(r.integer("seed", 7, 0));
    topt.seed = seed;
    topt.threads = num_threads();  // --threads bounds the tokenizer's fitting too
    const int64_t limit = r.integer("limit", 0, 0);
    // k-fold cross-validation of training and validation mails (the test split stays as it is):
    // with folds k >= 2, fold f validates and the other k - 1 train; data.validation is unused.
    const int64_t folds = r.integer("folds", 0, 0, 100);
    const int64_t fold = r.integer("fold", 0, 0, 99);
    if (folds == 1 || (folds == 0 && fold != 0) || (folds >= 2 && fold >= folds))
      throw config::ConfigError(detail::cat("config: data.fold ", fold, " of data.folds ", folds,
                                            ": expected folds 0 (no cross-validation) or >= 2, "
                                            "and 0 <= fold < folds"));
    // Loss weight of the training mails of a corpus group (its folder: "hard-ham-1": 3), on top
    // of the class weights; groups not named weigh 1.
    std::map<std::string, float> group_weights;
    {
      config::Reader g = r.object("group_weights");
      for (const auto& [group, value] : g.raw().items())
        group_weights[group] = float(g.number(group, 1.0, 0.0, 1000.0));
      g.finish();
    }
    const std::string tok_path = (fs::path(ctx.model_dir) / "tokenizer.model").string();
    r.finish();  // a typo fails now, not after parsing the corpus and fitting the tokenizer
    Splits s;
    s.mask_id = data::Tokenizer::kUnk;  // byte fallback spells every character: never emitted
    if (ctx.check_only) return s;       // the sizes come from the tokenizer, fitted on the data
    s.class_names = kClasses;
    if (!ctx.need_data) {
      const data::Tokenizer tok = data::Tokenizer::load(tok_path);
      s.input = input_json(tok, text);
      return s;
    }

    // Every mail, in a fixed order: group by group, file names sorted.
    if (!fs::is_directory(corpus))
      throw Error("spam: corpus folder '" + corpus +
                  "' does not exist; run scripts/fetch_spam.sh (or set data.path / FOCUS_CACHE)");
    std::vector<std::string> paths;
    std::vector<int32_t> labels;
    std::set<std::string> groups;
    for (const auto& entry : fs::directory_iterator(corpus)) {
      if (!entry.is_directory()) continue;
      const std::string group = entry.path().filename().string();
      const bool spam = group.rfind("spam", 0) == 0, ham = group.find("ham") != std::string::npos;
      if (!spam && !ham) continue;
      groups.insert(group);
      for (const auto& f : fs::directory_iterator(entry.path()))
        if (f.path().extension() == ".txt") paths.push_back(f.path().string());
    }
    FOCUS_CHECK(!paths.empty(), "spam: no mails (*.txt under spam*/ and *ham*/) in '", corpus,
                "'; run scripts/fetch_spam.sh");
    for (const auto& [group, w] : group_weights)
      if (!groups.count(group))
        throw config::ConfigError(detail::cat("config: data.group_weights names '", group,
                                              "', which is not a group of '", corpus, "' (",
                                              join_fields({groups.begin(), groups.end()}), ")"));
    std::sort(paths.begin(), paths.end());
    for (const auto& p : paths) labels.push_back(group_of(p).rfind("spam", 0) == 0);

    // A stratified subset (tests train on a few hundred mails), then test, then validation.
    std::vector<int64_t> all(paths.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = int64_t(i);
    if (limit > 0 && limit < int64_t(paths.size())) {
      const float keep = float(limit) / float(paths.size());
      all = data::split(int64_t(paths.size()), keep, seed + 100, labels).second;
    }
    auto pick = [](const std::vector<int64_t>& idx, const auto& v) {
      std::remove_cvref_t<decltype(v)> out;
      for (int64_t i : idx) out.push_back(v[size_t(i)]);
      return out;
    };
    paths = pick(all, paths);
    labels = pick(all, labels);
    const int64_t n = int64_t(paths.size());
    auto [rest, test] = data::split(n, test_frac, seed, labels);
    const std::vector<int32_t> rest_labels = pick(rest, labels);
    auto [train_in_rest, val_in_rest] =
        folds >= 2 ? data::kfold(int64_t(rest.size()), folds, fold, seed + 1, rest_labels)
                   : data::split(int64_t(rest.size()), val_frac / (1.0f - test_frac), seed + 1,
                                 rest_labels);
    const std::vector<int64_t> train = pick(train_in_rest, rest), val = pick(val_in_rest, rest);

    // Parse every mail once; malformed ones are counted, never fatal.
    std::vector<std::string> texts(static_cast<size_t>(n));
    int64_t malformed = 0, unknown_charset = 0;
    std::map<std::string, int64_t> problems;
    for (int64_t i = 0; i < n; ++i) {
      data::Mail m;
      texts[size_t(i)] = mail_text(read_file(paths[size_t(i)]), text, &m);
      malformed += !m.problems.empty();
      unknown_charset += !m.unknown_charsets.empty();
      for (const auto& p : m.problems) {
        // Counted by kind: "part 1.2: bad base64 in part 1.2" -> "bad base64".
        const size_t colon = p.find(": ");
        std::string kind = colon == std::string::npos ? p : p.substr(colon + 2);
        if (const size_t in = kind.find(" in part "); in != std::string::npos) kind.resize(in);
        ++problems[kind];
      }
    }

    // What the tokenizer is fitted on and what trains: the training split, or for pretraining
    // (which reads no labels) every mail outside the test split.
    const std::vector<int64_t>& fitted = ctx.pretraining ? rest : train;
    data::Tokenizer tok;
    if (!ctx.training) {
      tok = data::Tokenizer::load(tok_path);
    } else {
      // With train.init, the pieces the pretrained encoder learnt: its ids mean nothing under
      // another tokenizer. Otherwise fitted here; validation text shapes the pieces only for
      // pretraining, test text never.
      tok = ctx.preprocessing_from.empty()
                ? data::Tokenizer::train(pick(fitted, texts), topt)
                : data::Tokenizer::load(
                      (fs::path(ctx.preprocessing_from) / "tokenizer.model").string());
      fs::create_directories(ctx.model_dir);
      tok.save(tok_path);
    }
    auto make = [&](const std::vector<int64_t>& idx, int64_t* cut, double* mean) {
      return std::make_shared<MailSet>(encode_all(tok, pick(idx, texts), text, cut, mean),
                                       pick(idx, labels), pick(idx, paths));
    };
    int64_t cut = 0;
    double mean = 0;
    s.train = make(fitted, &cut, &mean);
    if (!ctx.pretraining) {
      s.validation = make(val, nullptr, nullptr);
      s.test = make(test, nullptr, nullptr);
    }
    s.input = input_json(tok, text);
    std::map<std::string, int64_t> weighted_mails;  // training mails of each weighted group
    if (!group_weights.empty() && !ctx.pretraining)
      for (int64_t i : train) {
        const auto it = group_weights.find(group_of(paths[size_t(i)]));
        s.train_weights.push_back(it == group_weights.end() ? 1.0f : it->second);
        if (it != group_weights.end()) ++weighted_mails[it->first];
      }

    const int64_t n_spam = std::count(labels.begin(), labels.end(), 1);
    if (ctx.training) {
      std::printf(
          "spam: %lld mails (%lld ham, %lld spam) from %s; %lld malformed, %lld with an "
          "unknown charset (read as Latin-1)\n",
          (long long)n, (long long)(n - n_spam), (long long)n_spam, corpus.c_str(),
          (long long)malformed, (long long)unknown_charset);
      for (const auto& [what, count] : problems)
        std::printf("  %5lld x %s\n", (long long)count, what.c_str());
      std::printf(
          "spam: tokenizer %s, %lld pieces; training mails average %.0f pieces, %.1f%% cut "
          "at %lld\n",
          topt.model.c_str(), (long long)tok.vocab_size(), mean,
          100.0 * double(cut) / double(std::max<size_t>(fitted.size(), 1)), (long long)text.length);
      if (ctx.pretraining)
        std::printf(
            "spam: pretraining on the %lld training and validation mails (labels unread); "
            "the %lld test mails stay unread\n",
            (long long)fitted.size(), (long long)test.size());
      else if (!ctx.preprocessing_from.empty())
        std::printf("spam: tokenizer of %s\n", ctx.preprocessing_from.c_str());
      if (!ctx.pretraining)  // pretraining weighs nothing: it reads no labels
        for (const auto& [group, w] : group_weights)
          std::printf("spam: the %lld training mails of %s weigh %g in the loss\n",
                      (long long)weighted_mails[group], group.c_str(), double(w));
      nlohmann::json summary = {{"corpus", corpus},
                                {"mails", n},
                                {"ham", n - n_spam},
                                {"spam", n_spam},
                                {"malformed", malformed},
                                {"unknown_charset", unknown_charset},
                                {"problems", problems},
                                {"train", fitted.size()},
                                {"validation", ctx.pretraining ? 0 : val.size()},
                                {"test", test.size()},
                                {"pretraining", ctx.pretraining},
                                {"vocab", tok.vocab_size()},
                                {"mean_train_pieces", mean},
                                {"train_truncated", cut},
                                {"group_weights", group_weights}};
      write_text_atomic((fs::path(ctx.model_dir) / "data.json").string(), summary.dump(2) + "\n");
    }
    return s;
  }

  int predict(const Loaded& l, const PredictOptions& opt) const override {
    const auto* model = dynamic_cast<const models::SequenceClassifier*>(l.model.get());
    FOCUS_CHECK(model, "spam: predict needs a sequence_transformer model");
    const data::Tokenizer tok =
        data::Tokenizer::load((fs::path(l.dir) / "tokenizer.model").string());
    TextOptions o;
    o.length = l.splits.input.at("length");
    o.max_chars = l.splits.input.at("max_chars");
    if (l.splits.input.contains("headers"))
      o.fields = split_fields(l.splits.input.at("headers").get<std::string>());
    data::Mail mail;
    const std::string text = mail_text(read_file(opt.input), o, &mail);
    for (const auto& p : mail.problems)
      std::fprintf(stderr, "note: %s: %s\n", opt.input.c_str(), p.c_str());
    for (const auto& c : mail.unknown_charsets)
      std::fprintf(stderr, "note: %s: unknown charset '%s' read as Latin-1\n", opt.input.c_str(),
                   c.c_str());
    const auto pieces = tok.encode_pieces(text);
    std::vector<int32_t> ids;
    for (size_t i = 0; i < pieces.size() && int64_t(i) < o.length; ++i) ids.push_back(pieces[i].id);
    if (ids.empty()) ids.push_back(data::Tokenizer::kUnk);  // an empty mail still gets an answer
    const Tensor x = Tensor::from_indices(ids, {1, int64_t(ids.size())});
    autograd::NoGradGuard no_grad;
    const std::vector<float> p = softmax((*model)(x), -1).to_vector();
    const int label = p[1] > p[0] ? 1 : 0;
    std::printf("%s %.4f\n", kClasses[size_t(label)].c_str(), double(p[size_t(label)]));
    std::printf("  ham %6.2f%%  spam %6.2f%%  (%zu of %zu pieces read)\n", 100.0 * p[0],
                100.0 * p[1], ids.size(), pieces.size());
    if (!opt.attention.empty()) {
      const std::vector<float> w = model->token_attention(x).to_vector();
      const std::string pool = model->options().pool;
      ViewInfo info;
      info.label = kClasses[size_t(label)];
      info.probability = p[size_t(label)];
      info.source = opt.input + " — model " + l.dir;
      info.how = pool == "soft"
                     ? "the soft-attention pooling weights (the share of each word in the mail's "
                       "summary)"
                 : pool == "cls" ? "attention rollout over all layers from the class token"
                                 : "attention rollout over all layers, averaged over positions";
      info.pieces_read = int64_t(ids.size());
      info.pieces_total = int64_t(pieces.size());
      write_text_atomic(opt.attention,
                        attention_html(text, words_by_weight(text, pieces, w, ids.size()), info));
      std::printf("attention view: %s\n", opt.attention.c_str());
    }
    return kOk;
  }

  bool reports_ensembles() const override { return true; }

  void report(const Report& r) const override {
    const Loaded& l = *r.members.front();
    const train::Evaluation& ev = r.test;
    const auto* test = dynamic_cast<const MailSet*>(l.splits.test.get());
    FOCUS_CHECK(test, "spam: report needs the test split");
    FOCUS_CHECK(ev.labels == test->labels(),
                "spam: the evaluation given to the report is not of this test split");
    const train::BinaryMetrics m = train::binary_metrics(ev);
    std::vector<std::string> errors;
    for (size_t i = 0; i < ev.labels.size(); ++i) {
      const bool said = ev.probabilities[2 * i + 1] > ev.threshold;
      if (said != (ev.labels[i] == 1))
        errors.push_back(std::string(said ? "false spam " : "missed spam ") +
                         test->source(int64_t(i)));
    }
    const int64_t n = ev.examples;
    std::printf(
        "spam (positive class) on the test split: accuracy %.2f%%, precision %.2f%%, "
        "recall %.2f%%, F1 %.4f, ROC-AUC %.4f (%lld mails; spam above %g)\n",
        100.0 * m.accuracy, 100.0 * m.precision, 100.0 * m.recall, m.f1, m.roc_auc, (long long)n,
        double(ev.threshold));
    nlohmann::json metrics = {{"examples", n},
                              {"accuracy", m.accuracy},
                              {"precision", m.precision},
                              {"recall", m.recall},
                              {"f1", m.f1},
                              {"roc_auc", m.roc_auc},
                              {"true_positive", m.true_positive},
                              {"false_positive", m.false_positive},
                              {"false_negative", m.false_negative},
                              {"true_negative", m.true_negative},
                              {"loss", ev.loss},
                              {"threshold", ev.threshold},
                              {"errors", errors}};
    if (r.members.size() > 1) metrics["members"] = member_dirs(r);
    const std::string path = (fs::path(r.dir) / "test_metrics.json").string();
    write_text_atomic(path, metrics.dump(2) + "\n");
    std::printf("test metrics: %s\n", path.c_str());
  }

 private:
  static nlohmann::json input_json(const data::Tokenizer& tok, const TextOptions& o) {
    return {{"vocab", tok.vocab_size()},
            {"length", o.length},
            {"classes", 2},
            {"pad", data::Tokenizer::kPad},
            {"max_chars", o.max_chars},
            {"headers", join_fields(o.fields)}};
  }
};

}  // namespace

std::unique_ptr<Task> make_spam_task() { return std::make_unique<SpamTask>(); }

}  // namespace focus::cli
