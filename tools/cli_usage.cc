#include "tools/cli_usage.h"

#include "tools/did_you_mean.h"

namespace caravan::tools {
namespace {

std::vector<const CLI::App*> Subcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App*) { return true; });
}

const CLI::App* SubcommandNamed(const CLI::App& app, const std::string& name) {
  for (const auto* sub : Subcommands(app)) {
    if (sub->check_name(name)) return sub;
  }
  return nullptr;
}

bool HasPositionals(const CLI::App& app) {
  return !app.get_options([](const CLI::Option* o) {
                return o->get_positional();
              }).empty();
}

// The long option `name` (without dashes) of `app` or, since options fall
// through to the parent commands, of one of its parents.
const CLI::Option* LongOption(const CLI::App& app, const std::string& name) {
  for (const CLI::App* a = &app; a != nullptr; a = a->get_parent()) {
    for (const auto* opt : a->get_options()) {
      if (opt->check_lname(name)) return opt;
    }
  }
  return nullptr;
}

std::vector<std::string> LongOptionNames(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* a = &app; a != nullptr; a = a->get_parent()) {
    for (const auto* opt : a->get_options()) {
      for (const auto& l : opt->get_lnames()) names.push_back("--" + l);
    }
  }
  return names;
}

std::string UnknownCommandMessage(const CLI::App& parent,
                                  const std::string& word) {
  std::vector<std::string> names;
  for (const auto* sub : Subcommands(parent)) names.push_back(sub->get_name());
  std::string message = "unknown command '" + word + "'";
  if (parent.get_parent() != nullptr) {
    message += " for '" + CommandPath(parent) + "'";
  }
  if (auto near = ClosestName(word, names)) {
    return message + "; did you mean '" + *near + "'?";
  }
  return message + " (see '" + CommandPath(parent) + " --help')";
}

}  // namespace

std::string CommandPath(const CLI::App& command) {
  std::string path = command.get_name();
  for (const CLI::App* a = command.get_parent(); a != nullptr;
       a = a->get_parent()) {
    path = a->get_name() + " " + path;
  }
  return path;
}

std::string CommandHelp(const CLI::App& command) {
  const CLI::App* parent = command.get_parent();
  return command.help(parent == nullptr ? "" : CommandPath(*parent));
}

std::optional<std::string> UnknownWordMessage(
    const CLI::App& app, const std::vector<std::string>& args) {
  const CLI::App* current = &app;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word == "--") return std::nullopt;  // the rest is positional
    if (word.rfind("--", 0) == 0) {
      const size_t eq = word.find('=');
      const std::string name = word.substr(2, eq == std::string::npos
                                                  ? std::string::npos
                                                  : eq - 2);
      const CLI::Option* opt = LongOption(*current, name);
      if (opt == nullptr) {
        std::string message = "unknown option '--" + name + "'";
        if (current != &app) {
          message += " for '" + CommandPath(*current) + "'";
        }
        if (auto near = ClosestName("--" + name, LongOptionNames(*current))) {
          message += "; did you mean '" + *near + "'?";
        }
        return message;
      }
      // Its value is the next word, unless given as --name=value.
      if (eq == std::string::npos && opt->get_expected_min() > 0) ++i;
      continue;
    }
    if (word.size() > 1 && word[0] == '-') continue;  // short flags, -1
    if (Subcommands(*current).empty()) continue;      // a positional
    if (const CLI::App* sub = SubcommandNamed(*current, word)) {
      current = sub;
      continue;
    }
    if (HasPositionals(*current)) continue;
    return UnknownCommandMessage(*current, word);
  }
  return std::nullopt;
}

Result<const CLI::App*> FindCommand(const CLI::App& app,
                                    const std::vector<std::string>& path) {
  const CLI::App* current = &app;
  for (const auto& word : path) {
    const CLI::App* sub = SubcommandNamed(*current, word);
    if (sub == nullptr) {
      return InvalidInput(UnknownCommandMessage(*current, word));
    }
    current = sub;
  }
  return current;
}

std::vector<std::string> UndescribedOptions(const CLI::App& app) {
  std::vector<std::string> missing;
  for (const auto* opt : app.get_options()) {
    if (opt->get_description().empty()) {
      missing.push_back(CommandPath(app) + " " + opt->get_name());
    }
  }
  for (const auto* sub : Subcommands(app)) {
    if (sub->get_description().empty()) missing.push_back(CommandPath(*sub));
    for (auto& m : UndescribedOptions(*sub)) missing.push_back(std::move(m));
  }
  return missing;
}

}  // namespace caravan::tools
