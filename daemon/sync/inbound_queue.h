#pragma once
// A session's checked-and-waiting records (SyncEngine's receive side): the
// receive loop checks each Records message (CheckInbound) and pushes it
// here; the commit loop takes everything queued in one store write.
//
// Bounded twice. By records, so a commit stays a few pages' worth; and by
// the bytes of their signed forms, because records are not all alike: at
// the count bound alone, when storing is the slower side, a member sending
// records of the largest description (about 4 KiB signed, held several
// times over: decoded, signed and in its prepared stored form) could park
// about a GiB here, and as much again in the write being committed.
// Beyond either bound the receive loop stops reading and TCP pushes back
// on the peer. One message may go over (it was checked before it was
// counted), so the most held is the bound plus one message of at most the
// link's max_message_bytes.

#include <cstddef>
#include <deque>
#include <vector>

#include "daemon/sync/inbound.h"

namespace caravan::daemon::sync {

class InboundQueue {
 public:
  struct Limits {
    size_t records = 0;       // checked records queued, at most
    size_t signed_bytes = 0;  // bytes of their signed forms, at most
  };
  explicit InboundQueue(Limits limits) : limits_(limits) {}

  // False once either bound is reached: the receive loop waits.
  bool HasRoom() const {
    return records_ < limits_.records && bytes_ < limits_.signed_bytes;
  }
  bool empty() const { return messages_.empty(); }
  size_t records() const { return records_; }
  size_t signed_bytes() const { return bytes_; }

  void Push(CheckedMessage message);
  // Everything queued, oldest first; the queue is empty after.
  std::vector<CheckedMessage> TakeAll();

 private:
  Limits limits_;
  std::deque<CheckedMessage> messages_;
  size_t records_ = 0;
  size_t bytes_ = 0;
};

// The bytes of the signed records `message` holds (what InboundQueue
// counts against its byte bound).
size_t SignedBytesOf(const CheckedMessage& message);

}  // namespace caravan::daemon::sync
