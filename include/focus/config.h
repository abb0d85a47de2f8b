// Strict reading of JSON configs: every value is checked where it is read, and a key nobody read
// is an error naming it ("config: unknown key 'train.lrate'"), so a typo never goes unnoticed.
#pragma once

#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "focus/error.h"

namespace focus::config {

// A bad config (unknown key, wrong type, value out of range): the user's to fix, so the CLI exits
// with its usage code rather than its data/I-O code.
class ConfigError : public Error {
 public:
  using Error::Error;
};

class Reader {
 public:
  // `path` names the object in messages ("model", "train"); empty for the root.
  Reader(const nlohmann::json& object, std::string path = "");

  int64_t integer(const std::string& key, int64_t fallback,
                  int64_t min = std::numeric_limits<int64_t>::min(),
                  int64_t max = std::numeric_limits<int64_t>::max());
  double number(const std::string& key, double fallback,
                double min = -std::numeric_limits<double>::infinity(),
                double max = std::numeric_limits<double>::infinity());
  bool boolean(const std::string& key, bool fallback);
  std::string string(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& choices = {});
  bool has(const std::string& key) const;
  // The sub-object `key` (an empty object when absent); its keys are checked by its own finish().
  Reader object(const std::string& key);
  const nlohmann::json& raw() const { return object_; }
  // Throws naming the first key that was never read.
  void finish() const;

 private:
  const nlohmann::json* find(const std::string& key);
  std::string name(const std::string& key) const;
  nlohmann::json object_;
  std::string path_;
  std::set<std::string> read_;
};

// Loads a JSON file; errors name the file and the parser's line and column.
nlohmann::json load(const std::string& path);
// Applies "a.b.c=value" overrides (value parsed as JSON, else taken as a string).
void set_path(nlohmann::json& root, const std::string& assignment);
// A comma-separated list value ("yes, no,up"): items trimmed of spaces, empty ones dropped.
std::vector<std::string> split_list(const std::string& list);

}  // namespace focus::config
