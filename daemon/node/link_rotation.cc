#include "daemon/node/link_rotation.h"

#include <algorithm>
#include <string>
#include <system_error>

#include "crypto/key_file.h"

namespace caravan::daemon {

namespace fs = std::filesystem;

Result<LoadedLinkKey> LoadOrCreateLinkKey(const fs::path& path, int64_t now) {
  std::error_code ec;
  // not_found (ENOENT) only: any other trouble is the loader's to report.
  const bool missing = fs::symlink_status(path, ec).type() == fs::file_type::not_found;
  LoadedLinkKey loaded;
  std::string error;
  if (missing) {
    crypto::LinkKeyFile file;
    file.key = crypto::LinkKey::Generate();
    file.serial = static_cast<uint64_t>(std::max<int64_t>(now, 1));
    file.not_before = now;
    if (!crypto::SaveLinkKeyFile(path, file, &error)) {
      return InvalidInput("link key " + path.string() +
                          " is missing and a new one could not be written: " + error +
                          " (make one with `caravan key rotate --link` once caravand runs, "
                          "or fix the directory's permissions)");
    }
    loaded.credential = {std::shared_ptr<const crypto::LinkKey>(std::move(file.key)),
                         file.serial, file.not_before};
    loaded.created = true;
    return loaded;
  }
  std::optional<crypto::LinkKeyFile> file = crypto::LoadLinkKeyFile(path, &error);
  if (!file) return InvalidInput(error);
  loaded.credential = {std::shared_ptr<const crypto::LinkKey>(std::move(file->key)),
                       file->serial, file->not_before};
  if (file->serial == 0) {
    // A key never rotated carries no not-before: its schedule counts from
    // this start. Its first rotation switches to the 112-byte payload that
    // releases before rotation cannot read, so an upgraded federation gets
    // a whole link_rotate period to upgrade every member first.
    loaded.credential.not_before = now;
  }
  return loaded;
}

Result<link::LinkCredential> MakeNextLinkKey(const fs::path& path,
                                             const link::LinkCredential& current,
                                             int64_t now) {
  crypto::LinkKeyFile file;
  file.key = crypto::LinkKey::Generate();
  file.serial =
      std::max<uint64_t>(current.serial + 1, static_cast<uint64_t>(std::max<int64_t>(now, 1)));
  file.not_before = now;
  std::string error;
  if (!crypto::SaveLinkKeyFile(path, file, &error)) {
    return Unavailable("link key not rotated: " + error);
  }
  return link::LinkCredential{std::shared_ptr<const crypto::LinkKey>(std::move(file.key)),
                              file.serial, file.not_before};
}

std::chrono::seconds TimeToLinkRotation(int64_t not_before, std::chrono::seconds interval,
                                        int64_t now) {
  const int64_t due = not_before + interval.count();
  return std::chrono::seconds(std::max<int64_t>(due - now, 0));
}

CollectedFamily LinkRotationMetrics(uint64_t by_operator, uint64_t by_schedule) {
  CollectedFamily f;
  f.name = "caravan_link_key_rotations_total";
  f.help =
      "Link key rotations of this node since start, by trigger (operator: caravan key "
      "rotate --link; schedule: [keys] link_rotate).";
  f.type = MetricType::kCounter;
  f.label_names = {"trigger"};
  f.samples = {{{"operator"}, static_cast<double>(by_operator)},
               {{"schedule"}, static_cast<double>(by_schedule)}};
  return f;
}

CollectedFamily IdentityRotationMetrics(uint64_t sent, uint64_t accepted, uint64_t refused) {
  CollectedFamily f;
  f.name = "caravan_identity_key_rotations_total";
  f.help =
      "Identity key rotations: sent, of this node's own key (caravan key rotate; all time, "
      "from the store); accepted and refused, members' rotation statements since start.";
  f.type = MetricType::kCounter;
  f.label_names = {"result"};
  f.samples = {{{"sent"}, static_cast<double>(sent)},
               {{"accepted"}, static_cast<double>(accepted)},
               {{"refused"}, static_cast<double>(refused)}};
  return f;
}

}  // namespace caravan::daemon
