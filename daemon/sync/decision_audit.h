#pragma once
// Batch audit entries for per-record decisions (docs/audit.md, "Record
// decisions"). The records of one store write that got the same decision
// by the same rule share one audit entry that lists them, instead of one
// entry each: on a bulk transfer the per-record entries (a row, three
// index entries, a chain hash and a JSON detail per record) were a third
// of the receiver's store writer time (sync_bench BM_StoreInbound).
//
// Each entry still names the action, the rule and its reason, and every
// record it covers (id, revision, variant, and the origin or log seq), so
// every decision stays in the log (DESIGN.md promise 1).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/policy/policy_eval.h"
#include "daemon/store/store_types.h"
#include "protocol/indicator.h"

namespace caravan::daemon::sync {

// An entry's record list is closed once it reaches this size (about 400
// records), so its detail stays under store::kMaxAuditDetailBytes: one
// listed record is under 300 bytes and the rule and reason under 4 KB.
inline constexpr size_t kAuditRecordListBytes = 48 * 1024;
static_assert(kAuditRecordListBytes + 300 + 4096 <
              store::kMaxAuditDetailBytes);

// An audit detail as the store keeps it: compact JSON, invalid UTF-8 (a
// peer's bytes) replaced rather than thrown on.
std::string AuditDetailJson(const nlohmann::json& detail);

// The rule as every audit detail names it: {"file", "line", "key"}, file
// and key cut to 512 bytes (they are short; the cut bounds the detail).
nlohmann::json RuleJson(const policy::Rule& rule);

// One record as a batch entry lists it.
struct AuditedRecord {
  protocol::IndicatorId id{};
  uint32_t revision = 0;
  uint32_t variant = 0;
  uint64_t seq = 0;             // our log seq; 0: not listed
  std::string_view origin;      // origin's roster name; empty: not listed
};

class DecisionAudit {
 public:
  // `time`, `actor` and `peer` are those of every entry; `country`, when
  // not empty, is the peer's country, named once per entry.
  DecisionAudit(int64_t time, std::string actor, std::string peer,
                std::string country = "");

  // Records that `record` got `action` by `rule`.
  void Add(std::string_view action, const policy::Rule& rule,
           const AuditedRecord& record);

  bool empty() const { return groups_.empty() && ready_.empty(); }

  // The entries for everything added since the last call: one per action
  // and rule, a new one whenever the list reaches kAuditRecordListBytes.
  // Subject: the indicator id when an entry covers one record, else
  // "N records".
  std::vector<store::AuditEvent> Take();

 private:
  struct Group {
    std::string action;
    policy::Rule rule;
    size_t count = 0;
    std::string first_id;   // hex, for the subject of a one-record entry
    std::string records;    // JSON array elements, comma-separated
  };
  Group& GroupFor(std::string_view action, const policy::Rule& rule);
  store::AuditEvent Entry(const Group& g) const;

  const int64_t time_;
  const std::string actor_, peer_, country_;
  std::vector<Group> groups_;  // few: one per action and rule in a write
  std::vector<store::AuditEvent> ready_;  // full groups, in order
  std::string last_origin_, last_origin_json_;
};

}  // namespace caravan::daemon::sync
