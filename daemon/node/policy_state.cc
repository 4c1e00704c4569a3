#include "daemon/node/policy_state.h"

#include "daemon/policy/policy_loader.h"

namespace caravan::daemon {

Status PolicyState::Reload(int64_t now) {
  auto loaded = policy::LoadPolicyDir(dir_);
  std::lock_guard lock(mu_);
  if (!loaded.ok()) {
    info_.last_error = loaded.status().message();
    info_.last_error_at = now;
    return loaded.status();
  }
  const size_t files = 1 + loaded->scopes.size();
  current_ = std::make_shared<const policy::PolicySet>(std::move(*loaded));
  info_.loaded_at = now;
  info_.files = files;
  info_.last_error.reset();
  return Status::Ok();
}

std::shared_ptr<const policy::PolicySet> PolicyState::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

PolicyState::LoadInfo PolicyState::info() const {
  std::lock_guard lock(mu_);
  return info_;
}

}  // namespace caravan::daemon
