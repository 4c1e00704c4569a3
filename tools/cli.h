#pragma once
// Shared plumbing of the `caravan` CLI commands: where the daemon is, how a
// command reports failure, how a request goes out and a JSON reply comes
// back.
//
// Every command function returns the process exit code (CONTRACT.md):
// 0 ok, 1 failure, 2 usage, 3 not found, 4 rejected input, 5 daemon
// unreachable. Data goes to stdout, diagnostics to stderr.

#include <capnp/message.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "protocol/status.h"
#include "tools/control_client.h"

namespace caravan::tools {

struct GlobalOptions {
  std::string config;  // --config; empty: $CARAVAN_CONFIG or the default
  bool json = false;   // --json
  // --timeout: how long one request to caravand may take ("30s", "5m");
  // empty: ClientLimits' default. The daemon does not start a request
  // whose time is up.
  std::string timeout;
};

// Prints "caravan: <message>" to stderr and returns the exit code for it.
int Fail(const Status& status);

// The config file the CLI uses: --config, else $CARAVAN_CONFIG, else
// /etc/caravan/caravand.toml.
std::filesystem::path ConfigPath(const GlobalOptions& options);

// Reads the config to find the control socket and connects to it.
Result<std::unique_ptr<ControlClient>> ConnectToDaemon(
    const GlobalOptions& options);

// Sends `request`; returns the reply's JSON payload parsed, or the Status
// the daemon (or the transport) reported.
Result<nlohmann::json> CallForJson(const GlobalOptions& options,
                                   capnp::MessageBuilder& request);

// Sets a Cap'n Proto Text field from any string (Cap'n Proto text must be
// NUL-terminated; a std::string is).
inline capnp::Text::Reader Text(const std::string& s) {
  return capnp::Text::Reader(s.c_str(), s.size());
}

// Prints a JSON document to stdout, pretty when stdout is a terminal.
void PrintJson(const nlohmann::json& doc);

}  // namespace caravan::tools
