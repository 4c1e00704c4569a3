#include "daemon/sync/inbound_queue.h"

#include <iterator>
#include <utility>

namespace caravan::daemon::sync {

size_t SignedBytesOf(const CheckedMessage& message) {
  size_t bytes = 0;
  for (const CheckedRecord& r : message.checked) bytes += r.signed_bytes.size();
  return bytes;
}

void InboundQueue::Push(CheckedMessage message) {
  // Counted as CheckedMessage::size() (rejections and echoes too: the
  // commit writes each of them), bytes as what was kept of the records.
  records_ += message.size();
  bytes_ += SignedBytesOf(message);
  messages_.push_back(std::move(message));
}

std::vector<CheckedMessage> InboundQueue::TakeAll() {
  std::vector<CheckedMessage> all(std::make_move_iterator(messages_.begin()),
                                  std::make_move_iterator(messages_.end()));
  messages_.clear();
  records_ = 0;
  bytes_ = 0;
  return all;
}

}  // namespace caravan::daemon::sync
