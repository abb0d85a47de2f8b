#include "focus/config.h"

#include <fstream>
#include <sstream>

#include "focus/error.h"

// As FOCUS_CHECK, throwing ConfigError.
#define CONFIG_CHECK(cond, ...)                                                         \
  do {                                                                                  \
    if (!(cond)) throw ::focus::config::ConfigError(::focus::detail::cat(__VA_ARGS__)); \
  } while (0)

namespace focus::config {

Reader::Reader(const nlohmann::json& object, std::string path)
    : object_(object.is_null() ? nlohmann::json::object() : object), path_(std::move(path)) {
  CONFIG_CHECK(object_.is_object(), "config: ", path_.empty() ? "the config" : path_,
               " must be a JSON object, got ", object_.dump());
}

std::string Reader::name(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

const nlohmann::json* Reader::find(const std::string& key) {
  read_.insert(key);
  auto it = object_.find(key);
  return it == object_.end() || it->is_null() ? nullptr : &*it;
}

bool Reader::has(const std::string& key) const { return object_.contains(key); }

int64_t Reader::integer(const std::string& key, int64_t fallback, int64_t min, int64_t max) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  const bool whole =
      v->is_number_integer() ||
      (v->is_number_float() && v->get<double>() == double(int64_t(v->get<double>())));
  CONFIG_CHECK(whole, "config: ", name(key), ": expected an integer, got ", v->dump());
  const int64_t x = v->is_number_integer() ? v->get<int64_t>() : int64_t(v->get<double>());
  CONFIG_CHECK(x >= min && x <= max, "config: ", name(key), ": ", x, " is outside [", min, ", ",
               max, "]");
  return x;
}

double Reader::number(const std::string& key, double fallback, double min, double max) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  CONFIG_CHECK(v->is_number(), "config: ", name(key), ": expected a number, got ", v->dump());
  const double x = v->get<double>();
  CONFIG_CHECK(x >= min && x <= max, "config: ", name(key), ": ", x, " is outside [", min, ", ",
               max, "]");
  return x;
}

bool Reader::boolean(const std::string& key, bool fallback) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  CONFIG_CHECK(v->is_boolean(), "config: ", name(key), ": expected true or false, got ", v->dump());
  return v->get<bool>();
}

std::string Reader::string(const std::string& key, const std::string& fallback,
                           const std::vector<std::string>& choices) {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  CONFIG_CHECK(v->is_string(), "config: ", name(key), ": expected a string, got ", v->dump());
  const std::string s = v->get<std::string>();
  if (!choices.empty()) {
    bool known = false;
    std::string list;
    for (const std::string& c : choices) {
      known = known || c == s;
      list += (list.empty() ? "" : ", ") + c;
    }
    CONFIG_CHECK(known, "config: ", name(key), ": '", s, "' is not one of ", list);
  }
  return s;
}

Reader Reader::object(const std::string& key) {
  const nlohmann::json* v = find(key);
  return Reader(v ? *v : nlohmann::json::object(), name(key));
}

void Reader::finish() const {
  for (const auto& [key, value] : object_.items())
    CONFIG_CHECK(read_.count(key), "config: unknown key '", name(key), "'");
}

nlohmann::json load(const std::string& path) {
  std::ifstream in(path);
  FOCUS_CHECK(in.good(), "config: cannot read ", path);  // I/O, not usage
  std::stringstream text;
  text << in.rdbuf();
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    for (char& c : what)
      if (c == '\n') c = ' ';
    throw ConfigError("config: " + path + ": invalid JSON: " + what);
  }
}

void set_path(nlohmann::json& root, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  CONFIG_CHECK(eq != std::string::npos && eq > 0, "config: override '", assignment,
               "' is not of the form key.path=value");
  const std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error&) {
    value = text;  // a bare word is a string
  }
  nlohmann::json* node = &root;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? dot : dot - start);
    CONFIG_CHECK(!key.empty(), "config: override '", assignment, "' has an empty key");
    if (dot == std::string::npos) {
      (*node)[key] = value;
      return;
    }
    nlohmann::json& next = (*node)[key];
    if (next.is_null()) next = nlohmann::json::object();
    CONFIG_CHECK(next.is_object(), "config: override '", assignment, "': '", key,
                 "' is not an object");
    node = &next;
    start = dot + 1;
  }
}

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream ss(list);
  for (std::string item; std::getline(ss, item, ',');) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace focus::config
