// JSON-lines log: one compact object per line, flushed per record.
#include <cerrno>
#include <cstring>
#include <utility>

#include "focus/train.h"

namespace focus::train {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  std::string msg = detail::cat("log: ", path, ": ", what);
  for (char& c : msg)
    if (c == '\n' || c == '\r') c = ' ';
  throw Error(msg);
}

}  // namespace

JsonlLog::JsonlLog(const std::string& path, bool append) : path_(path) {
  file_ = std::fopen(path.c_str(), append ? "a" : "w");
  if (!file_) fail(path, detail::cat("cannot open for writing: ", std::strerror(errno)));
}

JsonlLog::~JsonlLog() {
  if (file_) std::fclose(file_);
}

JsonlLog::JsonlLog(JsonlLog&& o) noexcept
    : file_(std::exchange(o.file_, nullptr)), path_(std::move(o.path_)) {}

JsonlLog& JsonlLog::operator=(JsonlLog&& o) noexcept {
  if (this != &o) {
    if (file_) std::fclose(file_);
    file_ = std::exchange(o.file_, nullptr);
    path_ = std::move(o.path_);
  }
  return *this;
}

void JsonlLog::write(const nlohmann::json& record) {
  if (!file_) fail(path_.empty() ? "(none)" : path_, "write to a log that is not open");
  // Compact, one line (dump escapes control characters in strings), invalid UTF-8 replaced
  // rather than thrown on halfway through a run.
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line += '\n';
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    fail(path_, detail::cat("cannot write: ", std::strerror(errno)));
}

}  // namespace focus::train
