#pragma once
// Serving TAXII from a test node: the accounts file and the [taxii] lines
// of its caravand.toml, shared by the TAXII tests (tests/integration) and
// the hostile-load suite (tests/hostile).

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "tests/integration/harness.h"

namespace caravan::integration {

// The crypto_pwhash_str line `caravan-taxii-passwd` (at `tool`) prints for
// `password`; a failure is recorded if it does not exit 0.
inline std::string TaxiiPasswordHash(const std::string& tool,
                                     const std::string& password) {
  CommandResult r = RunProgram({tool}, password + "\n");
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  std::string hash = r.out;
  while (!hash.empty() && hash.back() == '\n') hash.pop_back();
  return hash;
}

// Writes `accounts_toml` to DIR/taxii-accounts.toml and points the node's
// [taxii] table at it, listening on 127.0.0.1:`port`. Returns the config
// text (also written), for callers that edit it further; "" with a
// failure recorded when the rendered config has no [taxii] listen line.
inline std::string ServeTaxii(TestNode& node, uint16_t port,
                              const std::string& accounts_toml) {
  WriteFile(node.dir() / "taxii-accounts.toml", accounts_toml);
  std::string cfg = ReadFile(node.config());
  const size_t at = cfg.find("[taxii]");
  const size_t listen =
      at == std::string::npos ? at : cfg.find("listen = ", at);
  if (listen == std::string::npos) {
    ADD_FAILURE() << "no [taxii] listen line in\n" << cfg;
    return "";
  }
  const size_t eol = cfg.find('\n', listen);
  cfg.replace(listen, eol - listen,
              "listen = \"127.0.0.1:" + std::to_string(port) +
                  "\"\naccounts = \"taxii-accounts.toml\"");
  WriteFile(node.config(), cfg);
  return cfg;
}

}  // namespace caravan::integration
