#include "tools/submit_batcher.h"

#include <algorithm>
#include <string>

namespace caravan::tools {
namespace {

constexpr size_t kWord = 8;

// A Text: its pointer word plus its bytes and NUL, rounded up to words.
size_t TextBytes(const std::string& s) {
  return kWord + (s.size() + 1 + kWord - 1) / kWord * kWord;
}

}  // namespace

size_t SubmissionWireBytes(const protocol::BulkItem& item,
                           const SubmitContext& defaults) {
  // The struct: its data words (confidence, times, line) and one pointer
  // word per field, with room to spare for fields added later.
  size_t bytes = 16 * kWord;
  const std::string& type = item.type.empty() ? defaults.type : item.type;
  bytes += TextBytes(type) + TextBytes(item.value);
  bytes += TextBytes(item.tlp.empty() ? defaults.tlp : item.tlp);
  bytes += TextBytes(item.description.empty() ? defaults.description
                                              : item.description);
  bytes += TextBytes(item.reshare.empty() ? defaults.reshare : item.reshare);
  const auto& tags = item.tags.empty() ? defaults.tags : item.tags;
  bytes += kWord;  // the list pointer
  for (const auto& tag : tags) bytes += TextBytes(tag);
  return bytes;
}

SubmitBatcher::SubmitBatcher(size_t max_frame_bytes, size_t max_items,
                             size_t first_items)
    : max_frame_bytes_(std::max(max_frame_bytes, 2 * kEnvelopeBytes)),
      target_bytes_(max_frame_bytes_ / 2),
      max_items_(std::max<size_t>(max_items, 1)),
      limit_(first_items == 0 ? max_items_
                              : std::min(first_items, max_items_)) {}

void SubmitBatcher::Clear() {
  items_ = 0;
  bytes_ = kEnvelopeBytes;
  limit_ = std::min(2 * limit_, max_items_);
}

SubmitBatcher::Fit SubmitBatcher::Offer(size_t item_bytes) {
  if (item_bytes > max_item_bytes()) return Fit::kTooLarge;
  // A batch may hold one item up to the whole frame; more only up to the
  // target.
  if (items_ > 0 && (items_ >= limit_ || bytes_ + item_bytes > target_bytes_)) {
    return Fit::kFull;
  }
  ++items_;
  bytes_ += item_bytes;
  return Fit::kAdded;
}

}  // namespace caravan::tools
