#include "tools/cli.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "protocol/config/node_config.h"
#include "protocol/time_text.h"

namespace caravan::tools {

int Fail(const Status& status) {
  std::cerr << "caravan: " << status.message() << "\n";
  return ExitCodeFor(status.code());
}

std::filesystem::path ConfigPath(const GlobalOptions& options) {
  if (!options.config.empty()) return options.config;
  return protocol::DefaultConfigPath();
}

Result<std::unique_ptr<ControlClient>> ConnectToDaemon(
    const GlobalOptions& options) {
  auto config = protocol::LoadNodeConfig(ConfigPath(options));
  if (!config.ok()) {
    // A missing or broken config means we do not know where the daemon
    // is: that is "unreachable" to a script, with the reason for a person.
    if (config.status().code() == StatusCode::kNotFound) {
      return Unavailable(config.status().message() +
                         " (pass --config or set CARAVAN_CONFIG)");
    }
    return config.status();
  }
  ClientLimits limits;
  limits.max_frame_bytes = config->control.max_frame_bytes;
  if (!options.timeout.empty()) {
    auto seconds = protocol::ParseDuration(options.timeout);
    if (!seconds.ok() || *seconds <= 0) {
      return InvalidInput("--timeout: '" + options.timeout +
                          "' is not a duration such as 30s or 5m");
    }
    limits.timeout = std::chrono::seconds(*seconds);
  }
  return ControlClient::Connect(config->control.socket, limits);
}

Result<nlohmann::json> CallForJson(const GlobalOptions& options,
                                   capnp::MessageBuilder& request) {
  auto client = ConnectToDaemon(options);
  if (!client.ok()) return client.status();
  auto reply = (*client)->Call(request);
  if (!reply.ok()) return reply.status();
  Status status = (*reply)->status();
  if (!status.ok()) return status;
  auto response = (*reply)->response();
  if (!response.isJson()) return nlohmann::json::object();
  auto parsed = nlohmann::json::parse(response.getJson().cStr(), nullptr,
                                      /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return Internal("caravand sent a reply that is not valid JSON");
  }
  return parsed;
}

void PrintJson(const nlohmann::json& doc) {
  const bool pretty = isatty(STDOUT_FILENO);
  std::cout << doc.dump(pretty ? 2 : -1, ' ', false,
                        nlohmann::json::error_handler_t::replace)
            << "\n";
}

}  // namespace caravan::tools
