#pragma once
// PolicyState: the policy set the node runs on, swapped whole on reload,
// plus what the last load attempt said (for `caravan status` and the log).
//
// Thread-safety: all methods may be called from any thread; readers get a
// shared_ptr to an immutable set and keep it as long as they need it.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "daemon/policy/policy.h"
#include "protocol/status.h"

namespace caravan::daemon {

class PolicyState {
 public:
  explicit PolicyState(std::filesystem::path dir) : dir_(std::move(dir)) {}

  // Loads the directory. On success the new set replaces the running one;
  // on failure the running set stays and the error is remembered. Returns
  // the loader's status.
  Status Reload(int64_t now);

  std::shared_ptr<const policy::PolicySet> current() const;

  struct LoadInfo {
    int64_t loaded_at = 0;   // when the running set was loaded
    size_t files = 0;        // files in the running set
    std::optional<std::string> last_error;  // last refused load, if newer
    int64_t last_error_at = 0;
  };
  LoadInfo info() const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  const std::filesystem::path dir_;
  mutable std::mutex mu_;
  std::shared_ptr<const policy::PolicySet> current_;  // guarded by mu_
  LoadInfo info_;                                     // guarded by mu_
};

}  // namespace caravan::daemon
