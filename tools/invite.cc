#include "tools/invite.h"

#include <string_view>

namespace caravan::tools {
namespace {

std::string TextOf(const nlohmann::json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::string ShellWord(const std::string& word) {
  constexpr std::string_view kSafe =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
      "-_.:/@+=[],";
  if (!word.empty() && word.find_first_not_of(kSafe) == std::string::npos) {
    return word;
  }
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string InviteEndpoint(const nlohmann::json& doc) {
  const std::string listen = TextOf(doc, "endpoint");
  if (listen.empty()) return "";
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return listen;
  const std::string host = listen.substr(0, colon);
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") {
    return "HOST" + listen.substr(colon);
  }
  return listen;
}

std::string InviteText(const nlohmann::json& doc) {
  const std::string name = TextOf(doc, "name");
  const std::string endpoint = InviteEndpoint(doc);
  std::string out = "# " + name + " (" + TextOf(doc, "country") +
                    "), fingerprint " + TextOf(doc, "fingerprint") + "\n" +
                    "# Read the fingerprint aloud to the other CERT: after "
                    "they run this line,\n# their `caravan peers list` "
                    "shows the same for " + name + ".\n";
  if (endpoint.rfind("HOST:", 0) == 0) {
    out += "# This node listens on every address: replace HOST with the "
           "one they can reach.\n";
  } else if (endpoint.empty()) {
    out += "# This node does not listen ([peers] listen unset): it dials "
           "them, so the line names no endpoint.\n";
  }
  out += "caravan peers add " + ShellWord(name) + " --country " +
         ShellWord(TextOf(doc, "country")) + " --key " +
         ShellWord(TextOf(doc, "key"));
  if (!endpoint.empty()) out += " --endpoint " + ShellWord(endpoint);
  return out + "\n";
}

}  // namespace caravan::tools
