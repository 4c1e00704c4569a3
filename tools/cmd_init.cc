// `caravan init DIR --name NAME --country CC ...`: a ready-to-run node.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <optional>
#include <tuple>

#include "crypto/identity_key.h"
#include "crypto/key_file.h"
#include "crypto/key_text.h"
#include "crypto/link_key.h"
#include "protocol/config/node_config.h"
#include "protocol/config/policy_templates.h"
#include "tools/commands.h"
#include "tools/sibling_binary.h"

namespace caravan::tools {
namespace {

Status WriteTextFile(const std::filesystem::path& path,
                     const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) return Internal("cannot write " + path.string());
  return Status::Ok();
}

}  // namespace

int RunInit(const GlobalOptions& global, const InitOptions& o) {
  if (!protocol::IsCountryCode(o.country)) {
    return Fail(InvalidInput("--country must be an ISO 3166-1 alpha-2 code "
                             "in capitals, e.g. UZ (got '" + o.country + "')"));
  }
  if (std::string e = protocol::NameError(o.name); !e.empty()) {
    return Fail(InvalidInput("--name: " + e));
  }
  std::optional<protocol::HostPort> peer_listen, taxii_listen;
  for (auto [flag, text, out] :
       {std::tuple{"--peer-listen", &o.peer_listen, &peer_listen},
        std::tuple{"--taxii-listen", &o.taxii_listen, &taxii_listen}}) {
    if (text->empty()) continue;
    auto parsed = protocol::ParseHostPort(*text);
    if (!parsed.ok()) {
      return Fail(InvalidInput(std::string(flag) + ": " +
                               parsed.status().message()));
    }
    *out = *parsed;
  }
  const std::filesystem::path dir = std::filesystem::absolute(o.dir);
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) &&
      !std::filesystem::is_empty(dir, ec)) {
    return Fail(InvalidInput(dir.string() +
                             " is not empty: init only creates new nodes"));
  }
  std::filesystem::create_directories(dir / "policies", ec);
  // Empty: drop MISP warninglist *.json files here (docs/warninglists.md).
  if (!ec) std::filesystem::create_directories(dir / "warninglists", ec);
  if (ec) {
    return Fail(Internal("cannot create " + dir.string() + ": " +
                         ec.message()));
  }
  chmod(dir.c_str(), 0700);  // keys and database live here

  std::string error;
  auto identity = crypto::IdentityKey::Generate();
  auto link = crypto::LinkKey::Generate();
  if (!crypto::SaveIdentityKey(dir / "identity.key", *identity, &error) ||
      !crypto::SaveLinkKey(dir / "link.key", *link, &error)) {
    return Fail(Internal(error));
  }

  protocol::InitialConfigOptions initial;
  initial.name = o.name;
  initial.country = o.country;
  initial.control_socket = o.control;
  initial.peer_listen = peer_listen;
  initial.taxii_listen = taxii_listen;
  Status s = WriteTextFile(dir / "caravand.toml",
                           protocol::RenderInitialConfig(initial));
  if (s.ok()) {
    s = WriteTextFile(dir / "roster.toml",
                      "# Federation members this node knows. Add them with\n"
                      "# `caravan peers add NAME --country CC --key KEY "
                      "[--endpoint HOST:PORT]`.\n");
  }
  if (s.ok()) {
    s = WriteTextFile(dir / "policies" / "default.toml",
                      protocol::DefaultPolicyToml());
  }
  for (const auto& [name, text] : protocol::ExamplePolicyFiles()) {
    if (s.ok()) s = WriteTextFile(dir / "policies" / name, text);
  }
  if (!s.ok()) return Fail(s);

  // The daemon owns the database schema: let it create the database now so
  // a broken install shows here, not at first start.
  s = RunSiblingBinary("caravand", {"--config", (dir / "caravand.toml").string(),
                                    "--init-only"});
  if (!s.ok()) return Fail(s);

  const std::string key_text = crypto::KeyText(identity->public_key());
  if (global.json) {
    PrintJson({{"dir", dir.string()},
               {"name", o.name},
               {"country", o.country},
               {"key", key_text},
               {"fingerprint", crypto::Fingerprint(identity->public_key())},
               {"config", (dir / "caravand.toml").string()}});
  } else {
    std::cout << "created node " << o.name << " (" << o.country << ") in "
              << dir.string() << "\n"
              << "identity key: " << key_text << "\n"
              << "fingerprint:  " << crypto::Fingerprint(identity->public_key())
              << "\n"
              << "start it:     caravand --config "
              << (dir / "caravand.toml").string() << "\n";
  }
  return 0;
}

}  // namespace caravan::tools
