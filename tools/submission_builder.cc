#include "tools/submission_builder.h"

#include <ctime>

#include "protocol/time_text.h"
#include "tools/cli.h"

namespace caravan::tools {

Result<int64_t> ParseValidUntil(const std::string& text, int64_t now) {
  if (text.empty()) return int64_t{0};
  if (auto duration = protocol::ParseDuration(text); duration.ok()) {
    return now + *duration;
  }
  auto absolute = protocol::ParseTime(text, now);
  if (!absolute.ok()) {
    return InvalidInput("--valid-until: '" + text +
                        "' is neither an RFC 3339 time nor a duration "
                        "like 30d");
  }
  return *absolute;
}

Status FillSubmission(protocol::wire::Submission::Builder out,
                      const SubmitContext& context, const std::string& type,
                      const std::string& value, uint64_t line) {
  auto valid_until = ParseValidUntil(context.valid_until, std::time(nullptr));
  if (!valid_until.ok()) return valid_until.status();
  out.setType(Text(type));
  out.setValue(Text(value));
  out.setTlp(Text(context.tlp));
  out.setConfidence(static_cast<int16_t>(context.confidence));
  auto tags = out.initTags(static_cast<unsigned>(context.tags.size()));
  for (unsigned i = 0; i < context.tags.size(); ++i) {
    tags.set(i, Text(context.tags[i]));
  }
  out.setDescription(Text(context.description));
  out.setValidUntil(*valid_until);
  out.setReshare(Text(context.reshare));
  out.setLine(line);
  return Status::Ok();
}

Status FillSubmission(protocol::wire::Submission::Builder out,
                      const SubmitContext& defaults,
                      const protocol::BulkItem& item) {
  SubmitContext merged = defaults;
  if (!item.tlp.empty()) merged.tlp = item.tlp;
  if (item.confidence >= 0) merged.confidence = item.confidence;
  if (!item.tags.empty()) merged.tags = item.tags;
  if (!item.description.empty()) merged.description = item.description;
  if (!item.reshare.empty()) merged.reshare = item.reshare;
  merged.valid_until.clear();
  CARAVAN_RETURN_IF_ERROR(FillSubmission(
      out, merged, item.type.empty() ? defaults.type : item.type, item.value,
      item.line));
  if (item.valid_until != 0) {
    out.setValidUntil(item.valid_until);
  } else {
    auto fallback = ParseValidUntil(defaults.valid_until, std::time(nullptr));
    if (!fallback.ok()) return fallback.status();
    out.setValidUntil(*fallback);
  }
  out.setFirstSeen(item.first_seen);
  out.setLastSeen(item.last_seen);
  return Status::Ok();
}

}  // namespace caravan::tools
