#pragma once
// The stored form of a sent page's SentRecord list (store table
// unacked_pages, daemon/store/schema.md): JSON, each policy rule written
// once per page, since a page's records mostly share one rule.
//   {"rules": [[file, line, key, reason], ...],
//    "sent": [[seq, id_hex, revision, variant, rule_index, withdrawal,
//              log_end, from_withheld], ...]}

#include <string>
#include <vector>

#include "daemon/sync/outbound_page.h"
#include "protocol/status.h"

namespace caravan::daemon::sync {

std::string EncodeUnackedPage(const std::vector<SentRecord>& sent);
// kInvalidInput when `text` is not what EncodeUnackedPage writes.
Result<std::vector<SentRecord>> DecodeUnackedPage(const std::string& text);

}  // namespace caravan::daemon::sync
