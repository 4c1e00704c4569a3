#pragma once
// SubmitBatcher: cuts a stream of bulk submissions into Submit requests
// that stay under the daemon's frame limit ([control] max_frame_bytes) by
// bytes as well as by count. A file of a few hundred lines with thousands
// of tags each is larger than one frame however few lines a batch holds;
// without this the CLI built a request the framing refused.
//
// Sizes are upper bounds of the Cap'n Proto encoding (every text rounded
// up to whole words, every pointer counted), so a batch the batcher
// accepts always fits; ControlClient still checks the exact size.
//
// A value, not thread-safe.

#include <cstddef>

#include "protocol/formats/bulk_reader.h"
#include "tools/commands.h"

namespace caravan::tools {

// Upper bound of the bytes `item` adds to a Submit request once merged
// with `defaults` (FillSubmission's rules).
size_t SubmissionWireBytes(const protocol::BulkItem& item,
                           const SubmitContext& defaults);

class SubmitBatcher {
 public:
  // Batches of at most `max_items` items and, framed, at most
  // `max_frame_bytes`; batches aim for half of that so two requests in
  // flight stay within the daemon's default buffer budget. The first
  // batch holds at most `first_items` (default: `max_items`) and each
  // next one twice the one before, up to `max_items`: the daemon's store
  // writer waits idle while it checks and signs the first request, so a
  // small first one starts the writes sooner.
  SubmitBatcher(size_t max_frame_bytes, size_t max_items,
                size_t first_items = 0);

  enum class Fit {
    kAdded,     // counted into the current batch
    kFull,      // does not fit: send the batch, Clear(), offer it again
    kTooLarge,  // larger than any request may be: reject the item
  };
  Fit Offer(size_t item_bytes);

  // Starts a new batch (the next, larger, one while ramping up).
  void Clear();
  bool full() const { return items_ >= limit_; }
  // Items the current batch may hold.
  size_t limit() const { return limit_; }
  size_t items() const { return items_; }
  // The largest single item (for the rejection message).
  size_t max_item_bytes() const { return max_frame_bytes_ - kEnvelopeBytes; }

 private:
  // Frame header, segment table, Request and Submit structs, list tag.
  static constexpr size_t kEnvelopeBytes = 4096;
  size_t max_frame_bytes_;
  size_t target_bytes_;
  size_t max_items_;
  size_t limit_;
  size_t items_ = 0;
  size_t bytes_ = kEnvelopeBytes;
};

}  // namespace caravan::tools
