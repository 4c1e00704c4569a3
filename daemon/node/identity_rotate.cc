// Node: rotating this node's own identity key (`caravan key rotate`;
// docs/federation.md, "Identity key rotation", the rotating side).
//
// The order of the writes is what makes a crash at any point safe:
//   1. the current key K0 is copied to <identity>.retired-<time> (0600): the
//      chain and K0's old records stay provable from this host's files;
//   2. the new key K1 goes to <identity>.next (0600);
//   3. the statement K0 -> K1 and the audit entry commit in one store
//      transaction: from here on the rotation happened;
//   4. K1 replaces <identity> (atomic rename), <identity>.next is removed.
// A crash before 3 leaves K0 in use and a stray .next (removed at the next
// start); a crash between 3 and 4 is finished at the next start
// (FinishIdentityRotation): the store says K0 was rotated to exactly the
// key in .next. A node whose key file holds a key the store says was
// rotated away (a restored old backup) refuses to start: it would sign with
// a key its peers refuse.
//
// The running node then sends the statement on every live link and asks
// main() for a clean in-process reload (Node::reload_requested): every
// holder of the identity key (submitter, sync engine, prekeys, hub
// sealing, link manager and its certificate) is rebuilt under K1 by the
// same code that starts the node, so no component can keep signing with
// K0. Peers that missed the statement learn it from the chain this node
// presents in its handshakes (docs/wire.md, "Rotation chain").
#include <sys/stat.h>

#include <chrono>
#include <ctime>
#include <thread>
#include <filesystem>
#include <system_error>

#include <nlohmann/json.hpp>

#include "crypto/identity_rotation.h"
#include "crypto/key_file.h"
#include "crypto/key_text.h"
#include "daemon/node/indicator_json.h"
#include "daemon/node/node.h"
#include "daemon/observe/log.h"
#include "protocol/time_text.h"

#include <boost/asio/post.hpp>

namespace caravan::daemon {

namespace fs = std::filesystem;

fs::path NextIdentityKeyPath(const fs::path& identity) {
  return fs::path(identity.string() + ".next");
}

fs::path RetiredIdentityKeyPath(const fs::path& identity, int64_t rotated_at) {
  return fs::path(identity.string() + ".retired-" + std::to_string(rotated_at));
}

Status FinishIdentityRotation(const fs::path& identity_path,
                              const std::vector<store::IdentityRotationRow>& rows,
                              std::unique_ptr<crypto::IdentityKey>& identity) {
  const fs::path next_path = NextIdentityKeyPath(identity_path);
  std::error_code ec;
  if (fs::symlink_status(next_path, ec).type() != fs::file_type::not_found) {
    std::string error;
    auto next = crypto::LoadIdentityKey(next_path, &error);
    if (!next) return InvalidInput(error);
    bool committed = false;
    for (const auto& row : rows) {
      committed |= row.old_key == identity->public_key() && row.new_key == next->public_key();
    }
    if (!committed) {
      // The rotation stopped before its statement was stored: K0 stays.
      LogWarning("keys: ", next_path.string(),
                 " is left from an identity key rotation that did not complete; removed");
      fs::remove(next_path, ec);
    } else {
      if (!crypto::SaveIdentityKey(identity_path, *next, &error)) {
        return InvalidInput("finishing the identity key rotation: " + error);
      }
      fs::remove(next_path, ec);
      LogNotice("keys: finished the identity key rotation to ",
                crypto::Fingerprint(next->public_key()), " (", identity_path.string(), ")");
      identity = std::move(next);
    }
  }
  for (const auto& row : rows) {
    if (row.old_key == identity->public_key()) {
      return InvalidInput(
          "identity key " + identity_path.string() + " (" +
          crypto::Fingerprint(identity->public_key()) + ") was rotated to " +
          crypto::Fingerprint(row.new_key) + " at " + protocol::FormatTime(row.rotated_at) +
          "; peers refuse it. Restore the newer key file (docs/deploy.md, \"Identity key "
          "rotation\")");
    }
  }
  return Status::Ok();
}

Result<std::string> Node::RotateIdentityKey(const std::string& actor) {
  std::lock_guard serial(rotation_mu_);
  if (reload_requested_.load()) {
    return RetryLater("an identity key rotation is being applied; caravand reloads in a moment");
  }
  const crypto::IdentityKey& old_key = *identity_;
  // Records carry whole seconds: the old key must have signed nothing
  // created in the rotation's second (receivers would take it for the
  // retired key signing after the rotation and refuse it). So submissions
  // stop (until the reload; Thaw on failure), and the rotation takes
  // effect in the next second.
  submitter_->Freeze();
  const int64_t frozen_at = std::time(nullptr);
  while (std::time(nullptr) <= frozen_at) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const int64_t now = std::time(nullptr);
  // Each rotation must be after the one before it (peers refuse "older").
  if (const auto* previous = roster()->chains().IntroducedBy(old_key.public_key())) {
    if (now <= previous->rotated_at) {
      submitter_->Thaw();
      return RetryLater("the identity key was rotated less than a second ago; try again");
    }
  }
  auto next = crypto::IdentityKey::Generate();
  const crypto::RotationStatement statement = crypto::SignRotation(old_key, *next, now, now);
  const std::vector<uint8_t> bytes = crypto::EncodeRotationStatement(statement);

  const fs::path& identity_path = config_.keys.identity;
  const fs::path retired_path = RetiredIdentityKeyPath(identity_path, now);
  const fs::path next_path = NextIdentityKeyPath(identity_path);
  std::string error;
  if (!crypto::SaveIdentityKey(retired_path, old_key, &error) ||
      !crypto::SaveIdentityKey(next_path, *next, &error)) {
    submitter_->Thaw();
    return Unavailable("identity key not rotated: " + error);
  }
  const nlohmann::json details = {
      {"old_key", crypto::KeyText(old_key.public_key())},
      {"old_fingerprint", crypto::Fingerprint(old_key.public_key())},
      {"new_key", crypto::KeyText(next->public_key())},
      {"new_fingerprint", crypto::Fingerprint(next->public_key())},
      {"rotated_at", protocol::FormatTime(now)},
      {"retired_key_file", retired_path.string()}};
  store::IdentityRotationRow row;
  row.old_key = old_key.public_key();
  row.new_key = next->public_key();
  row.rotated_at = now;
  row.issued_at = now;
  row.statement = bytes;
  row.member = "";  // ourselves
  Status stored = store_->Write([&](store::WriteTxn& txn) -> Status {
    auto put = txn.PutIdentityRotation(row);
    if (!put.ok()) return put.status();
    if (!*put) return Internal("the store already holds a rotation of this key");
    auto r = txn.AppendAudit({txn.now(), actor, "identity-key-rotate", config_.node.name, "",
                              DumpJson(details)});
    return r.ok() ? Status::Ok() : r.status();
  }).get();
  if (!stored.ok()) {
    std::error_code ec;
    fs::remove(next_path, ec);
    submitter_->Thaw();
    return stored;
  }
  // Committed: from here on the rotation happened; a failure below is
  // finished by the next start (FinishIdentityRotation).
  if (!crypto::SaveIdentityKey(identity_path, *next, &error)) {
    LogError("keys: identity key rotated in the store but ", identity_path.string(),
             " not replaced (", error, "); the next start finishes it from ",
             next_path.string());
  } else {
    std::error_code ec;
    fs::remove(next_path, ec);
  }
  LogNotice("keys: identity key rotated by ", actor, ": ", crypto::Fingerprint(old_key.public_key()),
            " -> ", crypto::Fingerprint(next->public_key()), "; the old key is kept in ",
            retired_path.string(), "; reloading under the new key");
  // Statements held go on every new link; this one also on every live
  // link now, before the reload closes them.
  (void)ReloadRoster();
  if (sync_) {
    sync_->HoldNotices();  // sent by the new node, signed by K1
    sync_->PublishIdentityRotation(bytes, "");
  }
  reload_requested_.store(true);
  // The reply reaches the CLI and the statement leaves on the live links
  // before the links close.
  boost::asio::post(io_, [this] {
    reload_timer_.expires_after(kIdentityReloadDelay);
    reload_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) io_.stop();
    });
  });
  nlohmann::json out = details;
  out["reload"] = true;
  return DumpJson(out);
}

}  // namespace caravan::daemon
