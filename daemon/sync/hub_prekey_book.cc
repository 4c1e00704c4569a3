#include "daemon/sync/hub_prekey_book.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "crypto/key_text.h"
#include "daemon/observe/log.h"
#include "daemon/sync/decision_audit.h"

namespace caravan::daemon::sync {

LoadedPrekeyBook LoadPrekeyBook(const std::vector<store::HubPrekeyRow>& rows,
                                const RosterIndex& roster, int64_t now) {
  LoadedPrekeyBook out;
  for (const store::HubPrekeyRow& row : rows) {
    auto refuse = [&](std::string why) {
      out.refused.push_back({row.owner_key, row.prekey_id, std::move(why)});
    };
    auto decoded = DecodePrekeyStatement(row.statement);
    if (!decoded.ok()) {
      refuse(decoded.status().message());
      continue;
    }
    const PrekeyStatement& s = *decoded;
    // The columns are what the store bounds and prunes by; a statement
    // that says otherwise was not the one stored under them.
    if (s.member_key != row.owner_key || s.prekey_id != row.prekey_id ||
        s.not_after != row.not_after) {
      refuse("prekey statement does not match the owner, id or expiry of "
             "its row");
      continue;
    }
    // Signature, roster, expiry, not-before; no `held`: rows of one owner
    // are compared by id below, not as replays of each other.
    auto verdict = CheckPrekeyStatement(s, roster, now, nullptr);
    if (!verdict.ok()) {
      refuse(verdict.status().message());
      continue;
    }
    auto [it, inserted] = out.book.try_emplace(s.member_key, s);
    if (!inserted && s.prekey_id > it->second.prekey_id) it->second = s;
  }
  return out;
}

store::HubPrekeyRow PrekeyBookRow(const PrekeyStatement& s) {
  store::HubPrekeyRow row;
  row.owner_key = s.member_key;
  row.prekey_id = s.prekey_id;
  row.not_after = s.not_after;
  row.statement = EncodePrekeyStatement(s);
  return row;
}

Result<std::map<protocol::PublicKey, PrekeyStatement>> RestoreHubPrekeyBook(
    store::Store& store, const RosterIndex& roster, int64_t now) {
  auto reader = store.OpenReader();
  if (!reader.ok()) return reader.status();
  auto stored = (*reader)->HubPrekeyBook();
  if (!stored.ok()) return stored.status();
  // Expired rows are the normal end of a statement: pruned, not refused.
  std::vector<store::HubPrekeyRow> live;
  for (auto& row : stored->rows) {
    if (row.not_after > now) live.push_back(std::move(row));
  }
  LoadedPrekeyBook loaded = LoadPrekeyBook(live, roster, now);
  const uint64_t malformed = stored->malformed;
  Status written = store.Write([&](store::WriteTxn& txn) -> Status {
    auto pruned = txn.HubPrekeyPrune(now);  // expired and malformed rows
    if (!pruned.ok()) return pruned.status();
    if (malformed > 0) {
      auto a = txn.AppendAudit(
          {txn.now(), "node", "hub_prekey_refused", "", "",
           AuditDetailJson({{"malformed_rows", malformed}})});
      if (!a.ok()) return a.status();
    }
    for (const auto& r : loaded.refused) {
      CARAVAN_RETURN_IF_ERROR(txn.HubPrekeyDelete(r.owner, r.prekey_id));
      const protocol::RosterMember* m = roster.Find(r.owner);
      const std::string owner = m != nullptr ? m->name : crypto::KeyText(r.owner);
      auto a = txn.AppendAudit(
          {txn.now(), "node", "hub_prekey_refused", owner, "",
           AuditDetailJson({{"prekey_id", r.prekey_id}, {"reason", r.why}})});
      if (!a.ok()) return a.status();
    }
    return Status::Ok();
  }).get();
  if (!written.ok()) return written;
  if (malformed > 0) {
    LogWarning("prekeys: ", malformed,
               " malformed rows in the hub's prekey book deleted, not served");
  }
  for (const auto& r : loaded.refused) {
    const protocol::RosterMember* m = roster.Find(r.owner);
    LogWarning("prekeys: stored prekey ", r.prekey_id, " of ",
               m != nullptr ? m->name : crypto::KeyText(r.owner),
               " refused and deleted, not served: ", r.why);
  }
  return std::move(loaded.book);
}

Status KeepHubPrekey(store::Store& store, const PrekeyStatement& s) {
  store::HubPrekeyRow row = PrekeyBookRow(s);
  return store.Write([row = std::move(row)](store::WriteTxn& txn) -> Status {
    auto put = txn.HubPrekeyPut(row);
    return put.ok() ? Status::Ok() : put.status();
  }).get();
}

Result<uint64_t> PruneHubPrekeys(store::Store& store, int64_t now) {
  return store
      .WriteValue<uint64_t>(
          [now](store::WriteTxn& txn) { return txn.HubPrekeyPrune(now); })
      .get();
}

}  // namespace caravan::daemon::sync
