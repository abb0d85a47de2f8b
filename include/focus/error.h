// Errors: every op throws focus::Error naming the op, the shapes it got and what it expected.
// The CLI turns an Error into a one-line message and a non-zero exit.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace focus {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <typename... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace focus

// Always on (never a debug-only assert): these guard input a user can reach.
#define FOCUS_CHECK(cond, ...)                                            \
  do {                                                                    \
    if (!(cond)) throw ::focus::Error(::focus::detail::cat(__VA_ARGS__)); \
  } while (0)
