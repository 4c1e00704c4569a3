#include "protocol/indicator_merge.h"

#include <algorithm>

#include "protocol/time_text.h"

namespace caravan::protocol {
namespace {

// ASCII lowercase, as policy lowercases tags before comparing them (a
// non-ASCII tag is compared byte for byte there too).
std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Later of two optional times (0 = unset).
int64_t Later(int64_t a, int64_t b) {
  if (a == 0) return b;
  if (b == 0) return a;
  return std::max(a, b);
}

// Earlier of two optional times (0 = unset).
int64_t Earlier(int64_t a, int64_t b) {
  if (a == 0) return b;
  if (b == 0) return a;
  return std::min(a, b);
}

std::string TimeText(int64_t t) { return t == 0 ? "unset" : FormatTime(t); }

void AddTimeChange(std::vector<std::string>& out, const char* field,
                   int64_t before, int64_t after) {
  if (before == after) return;
  out.push_back(std::string(field) + " " + TimeText(before) + "->" +
                TimeText(after));
}

}  // namespace

Result<MergeResult> MergeResubmission(const Indicator& existing,
                                      const Indicator& submitted,
                                      const SubmittedFields& given,
                                      ResubmitMode mode) {
  MergeResult result;
  if (mode == ResubmitMode::kReplace) {
    result.merged = submitted;
    result.changes = DescribeChanges(existing, result.merged);
    return result;
  }
  if (existing.revoked) {
    return InvalidInput(
        "indicator is revoked (" + existing.revoke_reason +
        "): a re-submission does not revive it; submit it with --replace "
        "to make a new live revision");
  }
  Indicator m = existing;
  if (given.tlp) m.tlp = std::max(existing.tlp, submitted.tlp);
  if (given.reshare) m.reshare = std::min(existing.reshare, submitted.reshare);
  if (given.confidence) m.confidence = submitted.confidence;

  std::vector<std::string> seen;
  seen.reserve(existing.tags.size() + submitted.tags.size());
  for (const auto& t : existing.tags) seen.push_back(Lower(t));
  for (const auto& t : submitted.tags) {
    std::string key = Lower(t);
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    seen.push_back(std::move(key));
    m.tags.push_back(t);
  }
  if (m.tags.size() > kMaxTags) {
    return InvalidInput("tags: merging gives " + std::to_string(m.tags.size()) +
                        " tags, limit " + std::to_string(kMaxTags) +
                        " (submit with --replace to set the tags anew)");
  }
  // Canonical order (indicator.h: tags sorted), so an unchanged merge
  // compares equal to the stored revision.
  std::sort(m.tags.begin(), m.tags.end());

  if (!submitted.description.empty()) m.description = submitted.description;
  m.valid_until = Later(existing.valid_until, submitted.valid_until);
  m.last_seen = Later(existing.last_seen, submitted.last_seen);
  m.first_seen = Earlier(existing.first_seen, submitted.first_seen);

  result.changes = DescribeChanges(existing, m);
  result.merged = std::move(m);
  return result;
}

std::vector<std::string> DescribeChanges(const Indicator& before,
                                         const Indicator& after) {
  std::vector<std::string> out;
  if (before.tlp != after.tlp) {
    out.push_back("tlp " + std::string(TlpName(before.tlp)) + "->" +
                  std::string(TlpName(after.tlp)));
  }
  for (const auto& t : after.tags) {
    if (std::find(before.tags.begin(), before.tags.end(), t) ==
        before.tags.end()) {
      out.push_back("+tag " + t);
    }
  }
  for (const auto& t : before.tags) {
    if (std::find(after.tags.begin(), after.tags.end(), t) ==
        after.tags.end()) {
      out.push_back("-tag " + t);
    }
  }
  if (before.confidence != after.confidence) {
    out.push_back("confidence " + std::to_string(before.confidence) + "->" +
                  std::to_string(after.confidence));
  }
  if (before.reshare != after.reshare) {
    out.push_back("reshare " + std::string(ReshareName(before.reshare)) +
                  "->" + std::string(ReshareName(after.reshare)));
  }
  if (before.description != after.description) {
    out.push_back(before.description.empty()  ? "description set"
                  : after.description.empty() ? "description removed"
                                              : "description changed");
  }
  AddTimeChange(out, "valid_until", before.valid_until, after.valid_until);
  AddTimeChange(out, "first_seen", before.first_seen, after.first_seen);
  AddTimeChange(out, "last_seen", before.last_seen, after.last_seen);
  if (before.revoked && !after.revoked) out.push_back("revived");
  return out;
}

}  // namespace caravan::protocol
