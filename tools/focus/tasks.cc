// The registry of tasks: one line per application.
#include <utility>

#include "app.h"

namespace focus::cli {

std::unique_ptr<Task> make_argmax_task();
std::unique_ptr<Task> make_spam_task();
std::unique_ptr<Task> make_commands_task();
std::unique_ptr<Task> make_fashion_mnist_task();

namespace {

using Maker = std::unique_ptr<Task> (*)();
const std::vector<std::pair<std::string, Maker>>& registry() {
  static const std::vector<std::pair<std::string, Maker>> tasks = {
      {"argmax_position", make_argmax_task},
      {"spam", make_spam_task},
      {"commands", make_commands_task},
      {"fashion_mnist", make_fashion_mnist_task},
  };
  return tasks;
}

}  // namespace

std::vector<std::string> task_names() {
  std::vector<std::string> names;
  for (const auto& [name, make] : registry()) names.push_back(name);
  return names;
}

std::string task_name(const nlohmann::json& config) {
  return config.value("data", nlohmann::json::object()).value("task", kDefaultTask);
}

const Task& find_task(const std::string& name) {
  static std::vector<std::pair<std::string, std::unique_ptr<Task>>> made;
  for (const auto& [n, t] : made)
    if (n == name) return *t;
  for (const auto& [n, make] : registry())
    if (n == name) return *made.emplace_back(n, make()).second;
  std::string known;
  for (const auto& n : task_names()) known += (known.empty() ? "" : ", ") + n;
  throw config::ConfigError("config: data.task '" + name + "' is not one of " + known);
}

}  // namespace focus::cli
