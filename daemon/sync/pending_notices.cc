// The store side of pending compromise notices (pending_notices.h); the
// sending side is SyncEngine::SendPendingNotices (compromise_exchange.cc).
#include "daemon/sync/pending_notices.h"

#include <nlohmann/json.hpp>

#include "crypto/key_text.h"
#include "daemon/sync/hub_envelope.h"

namespace caravan::daemon::sync {

Status StorePendingNotice(store::WriteTxn& txn, const CompromiseNotice& notice,
                          const std::vector<std::string>& peers) {
  store::PendingNoticeRow row;
  row.digest = NoticeDigest(notice);
  row.notice = EncodeCompromiseNotice(notice);
  for (const auto& peer : peers) {
    row.peer = peer;
    auto put = txn.PendingNoticePut(row);
    if (!put.ok()) return put.status();
  }
  return Status::Ok();
}

Status ForgetPendingNotices(
    store::Store& store, const std::string& peer,
    const std::vector<std::array<uint8_t, 32>>& digests) {
  return store.Write([&](store::WriteTxn& txn) -> Status {
    for (const auto& digest : digests) {
      CARAVAN_RETURN_IF_ERROR(txn.PendingNoticeDelete(peer, digest));
    }
    return Status::Ok();
  }).get();
}

std::string WithSealedNotices(const std::string& page_json,
                              const SealedNoticeSet& notices) {
  auto doc = nlohmann::json::parse(page_json, nullptr, false);
  if (!doc.is_object()) doc = nlohmann::json::object();
  auto list = nlohmann::json::array();
  for (size_t i = 0; i < notices.rows.size() && i < notices.notices.size();
       ++i) {
    list.push_back(
        {crypto::ToHex(notices.rows[i]),
         crypto::ToHex(EncodeCompromiseNotice(notices.notices[i]))});
  }
  doc["notices"] = std::move(list);
  return doc.dump();
}

Result<SealedNoticeSet> SealedNoticesOf(const std::string& page_json) {
  SealedNoticeSet out;
  auto doc = nlohmann::json::parse(page_json, nullptr, false);
  if (!doc.is_object()) {
    return InvalidInput("sealed outbox page is not a JSON object");
  }
  if (!doc.contains("notices")) return out;
  const auto& list = doc["notices"];
  if (!list.is_array() || list.size() > kMaxSealedNotices) {
    return InvalidInput("sealed outbox page: notices must be a list of at "
                        "most " + std::to_string(kMaxSealedNotices));
  }
  for (const auto& e : list) {
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() ||
        !e[1].is_string()) {
      return InvalidInput("sealed outbox page: a notice entry is not "
                          "[digest, notice]");
    }
    auto digest = crypto::FromHex(e[0].get<std::string>());
    auto bytes = crypto::FromHex(e[1].get<std::string>());
    if (!digest || digest->size() != 32 || !bytes) {
      return InvalidInput("sealed outbox page: a notice entry is not hex of "
                          "the right size");
    }
    auto notice = DecodeCompromiseNotice(*bytes);
    if (!notice.ok()) return notice.status();
    NoticeRowDigest d{};
    std::copy(digest->begin(), digest->end(), d.begin());
    out.rows.push_back(d);
    out.notices.push_back(*notice);
  }
  return out;
}

SealedNoticeChoice ChooseSealedNotices(
    const std::vector<store::PendingNoticeRow>& rows,
    const std::set<NoticeRowDigest>& riding,
    const crypto::IdentityKey& identity, size_t max) {
  SealedNoticeChoice out;
  for (const auto& row : rows) {
    if (riding.count(row.digest) > 0) continue;
    if (out.next.rows.size() >= max) {
      out.more = true;
      break;
    }
    auto notice = DecodeCompromiseNotice(row.notice);
    if (!notice.ok()) {
      // We encoded it: only a damaged store gets here. Never sendable.
      out.damaged.push_back(row.digest);
      continue;
    }
    if (notice->issuer != identity.public_key()) {
      *notice = SignCompromiseNotice(identity, notice->compromised,
                                     notice->since, notice->issued_at);
    }
    out.next.notices.push_back(*notice);
    out.next.rows.push_back(row.digest);
  }
  return out;
}

}  // namespace caravan::daemon::sync
