// Node: taking a member's identity key rotation (docs/federation.md,
// "Identity key rotation"). A statement that arrives over a link is checked
// against the roster and the rotations held (sync/key_chain.h); a good one
// is stored, the member's roster entry moves to the new key, the decision
// is audited (`identity-key-accept`, or `identity-key-refuse` with the
// reason), and the statement goes on to every other peer. A replay does
// nothing. Runs on the worker pool (signature checks, SQLite, the roster
// file); one statement at a time, so a chain K0 -> K1 -> K2 arriving in
// one burst is taken in order.
#include <ctime>

#include <nlohmann/json.hpp>

#include "crypto/identity_rotation.h"
#include "crypto/key_text.h"
#include "daemon/node/indicator_json.h"
#include "daemon/node/node.h"
#include "daemon/observe/log.h"
#include "daemon/sync/key_chain.h"
#include "protocol/config/roster_file.h"
#include "protocol/time_text.h"

namespace caravan::daemon {
namespace {

nlohmann::json StatementJson(const crypto::RotationStatement& s, const std::string& via) {
  return {{"old_key", protocol::PublicKeyToText(s.old_key)},
          {"old_fingerprint", crypto::Fingerprint(s.old_key)},
          {"new_key", protocol::PublicKeyToText(s.new_key)},
          {"new_fingerprint", crypto::Fingerprint(s.new_key)},
          {"rotated_at", protocol::FormatTime(s.rotated_at)},
          {"issued_at", protocol::FormatTime(s.issued_at)},
          {"via", via}};
}

}  // namespace

void Node::OnIdentityRotation(std::vector<uint8_t> statement, std::string via) {
  Status taken = AcceptIdentityRotation(statement, via);
  if (!taken.ok()) {
    LogWarning("identity rotation via ", via, " refused: ", taken.message());
  }
}

Status Node::AcceptIdentityRotation(const std::vector<uint8_t>& bytes, const std::string& via) {
  std::lock_guard serial(rotation_mu_);
  const std::string actor = "peer:" + via;
  auto refuse = [&](const std::string& code, const std::string& message,
                    const nlohmann::json& detail) -> Status {
    identity_rotations_refused_.fetch_add(1, std::memory_order_relaxed);
    Status audited = store_->Write([&](store::WriteTxn& txn) -> Status {
      nlohmann::json d = detail;
      d["reason"] = code;
      d["message"] = message;
      auto r = txn.AppendAudit({txn.now(), actor, "identity-key-refuse", "", via, DumpJson(d)});
      return r.ok() ? Status::Ok() : r.status();
    }).get();
    if (!audited.ok()) return audited;
    return InvalidInput(code + ": " + message);
  };
  std::string why;
  auto parsed = crypto::ParseRotationStatement(bytes, &why);
  if (!parsed) return refuse("malformed", why, {{"via", via}});
  const crypto::RotationStatement& s = *parsed;
  const auto index = roster();
  const sync::RotationCheck check = index->chains().Check(s, index->members(), std::time(nullptr));
  if (!check.verdict) {
    return refuse(check.refusal.code, check.refusal.message, StatementJson(s, via));
  }
  if (*check.verdict == sync::RotationVerdict::kReplayed) return Status::Ok();

  // The store first: it is what ReloadRoster applies to the roster file, so
  // a crash before the file is rewritten still pins the new key.
  store::IdentityRotationRow row;
  row.old_key = s.old_key;
  row.new_key = s.new_key;
  row.rotated_at = s.rotated_at;
  row.issued_at = s.issued_at;
  row.statement = bytes;
  row.member = check.member;
  Status stored = store_->Write([&](store::WriteTxn& txn) -> Status {
    auto put = txn.PutIdentityRotation(row);
    if (!put.ok()) return put.status();
    if (!*put) return Status::Ok();  // already held (a race with a relay)
    auto r = txn.AppendAudit({txn.now(), actor, "identity-key-accept", check.member, via,
                              DumpJson(StatementJson(s, via))});
    return r.ok() ? Status::Ok() : r.status();
  }).get();
  if (!stored.ok()) return stored;

  auto members = protocol::LoadRosterFile(config_.peers.roster);
  if (members.ok()) {
    for (auto& m : *members) {
      if (m.key == s.old_key) m.key = s.new_key;
    }
    Status written = protocol::WriteRosterFile(config_.peers.roster, *members);
    if (!written.ok()) {
      // The store holds the rotation, and ReloadRoster applies it to the
      // old file: the running roster is right; the file catches up on the
      // next rotation or peers command.
      LogWarning("identity rotation of ", check.member, ": ", written.message());
    }
  }
  CARAVAN_RETURN_IF_ERROR(ReloadRoster());
  identity_rotations_accepted_.fetch_add(1, std::memory_order_relaxed);
  LogNotice("identity key of ", check.member, " rotated at ", protocol::FormatTime(s.rotated_at),
            " (via ", via, "): new fingerprint ", crypto::Fingerprint(s.new_key));
  if (sync_) sync_->PublishIdentityRotation(bytes, via);
  return Status::Ok();
}

}  // namespace caravan::daemon
