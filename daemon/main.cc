// caravand: the caravan daemon. Runs in the foreground (systemd runs it the
// same way): loads the config, opens the node, serves until SIGTERM.
//
// Exit codes: 0 clean stop; 1 runtime failure; 4 `--check-policy` found
// errors; 78 (EX_CONFIG) bad configuration, keys or policies, which
// caravand.service lists in RestartPreventExitStatus so systemd does not
// restart into the same error.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <iostream>
#include <nlohmann/json.hpp>

#include "build_info.h"
#include "daemon/node/node.h"
#include "daemon/observe/log.h"
#include "daemon/observe/sd_notify.h"
#include "daemon/observe/startup_keepalive.h"
#include "daemon/policy/policy_loader.h"
#include "protocol/config/node_config.h"

namespace {

using namespace caravan;
constexpr int kExitConfig = 78;

int CheckPolicy(const std::string& dir, bool json) {
  auto loaded = policy::LoadPolicyDir(dir);
  if (json) {
    nlohmann::json doc = {{"dir", dir}, {"ok", loaded.ok()}};
    doc["errors"] = nlohmann::json::array();
    if (!loaded.ok()) {
      std::string errors = loaded.status().message();
      size_t start = 0;
      while (start < errors.size()) {
        size_t end = errors.find('\n', start);
        if (end == std::string::npos) end = errors.size();
        doc["errors"].push_back(errors.substr(start, end - start));
        start = end + 1;
      }
    } else {
      doc["files"] = 1 + loaded->scopes.size();
    }
    std::cout << doc.dump() << "\n";
  } else if (loaded.ok()) {
    std::cout << dir << ": ok (" << 1 + loaded->scopes.size()
              << " policy files)\n";
  } else {
    std::cerr << loaded.status().message() << "\n";
  }
  return loaded.ok() ? 0 : 4;
}

// Handles SIGTERM/SIGINT (stop) and SIGHUP (reload) on the event loop.
void WaitForSignals(boost::asio::signal_set& signals,
                    boost::asio::io_context& io, daemon::Node& node) {
  signals.async_wait([&](boost::system::error_code ec, int signo) {
    if (ec) return;
    if (signo == SIGHUP) {
      (void)daemon::NotifyReloading();
      // Reload touches files and the store: keep it off the event loop.
      boost::asio::post(node.pool(), [&node] {
        (void)node.ReloadPolicies("signal:SIGHUP");
        (void)daemon::NotifyReady();
      });
      WaitForSignals(signals, io, node);
      return;
    }
    daemon::LogNotice("caravand stopping on signal ", signo);
    (void)daemon::NotifyStopping();
    io.stop();
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"caravand: the caravan threat-sharing daemon"};
  std::string config_path, check_dir;
  bool init_only = false, json = false;
  app.add_option("--config", config_path, "path to caravand.toml");
  app.add_option("--check-policy", check_dir,
                 "validate a policy directory and exit (no daemon needed)");
  app.add_flag("--json", json, "with --check-policy: JSON output");
  app.add_flag("--init-only", init_only,
               "open (create and migrate) the store, then exit");
  app.set_version_flag("--version",
                       std::string("caravand ") + caravan::build::kVersionLine);
  CLI11_PARSE(app, argc, argv);

  // Keys, database and socket are created private; the socket is widened
  // to 0660 on purpose.
  umask(0077);
  // Past a file-size limit (RLIMIT_FSIZE, systemd's LimitFSIZE=) a write
  // fails with EFBIG, which the store reports, logs and counts like a full
  // disk; the default action of SIGXFSZ would kill the daemon instead.
  signal(SIGXFSZ, SIG_IGN);

  if (!check_dir.empty()) return CheckPolicy(check_dir, json);
  if (config_path.empty()) {
    std::cerr << "caravand: --config PATH is required\n";
    return kExitConfig;
  }
  auto config = protocol::LoadNodeConfig(config_path);
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return kExitConfig;
  }
  daemon::LogInit(config->log.level);

  // One pass per Node: a node that rotated its identity key asks for a
  // clean in-process reload (daemon/node/identity_rotate.cc), and the next
  // pass opens a new Node, on a new io_context, under the new key.
  for (bool first = true;; first = false) {
    boost::asio::io_context io(1);
    auto node = [&] {
      // Opening migrates the store: minutes for a large one.
      daemon::StartupKeepalive keep("opening the store " +
                                    config->store.database.string());
      return daemon::Node::Open(*config, io);
    }();
    if (!node.ok()) {
      daemon::LogEachLine(daemon::LogLevel::kError, "caravand cannot start: ",
                          node.status().message());
      return kExitConfig;
    }
    if (init_only) return 0;

    Status started = (*node)->Start();
    if (!started.ok()) {
      daemon::LogEachLine(daemon::LogLevel::kError, "caravand cannot start: ",
                          started.message());
      return 1;
    }
    boost::asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
    WaitForSignals(signals, io, **node);
    const auto& cfg = (*node)->config();
    daemon::LogNotice("caravand ", cfg.node.name, " (", cfg.node.country, ") ",
                      first ? "ready" : "reloaded under its new identity key",
                      ", control socket ", cfg.control.socket.string());
    (void)daemon::NotifyStatus("serving " + cfg.node.name);
    (void)daemon::NotifyReady();
    io.run();
    const bool reload = (*node)->reload_requested();
    if (reload) (void)daemon::NotifyReloading();
    (*node)->Stop();
    if (!reload) break;
  }
  daemon::LogNotice("caravand stopped");
  return 0;
}
