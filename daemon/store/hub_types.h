#pragma once
// Values of the hub queue (hub mode, docs/federation.md): sealed envelopes a
// hub holds between their sender's link and their recipient's. The hub
// stores what it can read of them (the routing header fields) and the
// opaque envelope; it never has the key to the contents.
//
// Plain values; thread-safe as values are.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/indicator.h"

namespace caravan::store {

using HubEnvelopeId = std::array<uint8_t, 16>;

// One queued envelope. hub_seq orders a recipient's queue (AUTOINCREMENT:
// never reused, so a recipient's acknowledgement is unambiguous).
struct HubEnvelope {
  uint64_t hub_seq = 0;  // assigned by HubEnqueue
  HubEnvelopeId envelope_id{};
  std::string sender;  // roster name of the sender, as the hub knew it
  protocol::PublicKey sender_key{};
  protocol::PublicKey recipient_key{};
  uint64_t first_seq = 0;  // the sender's log range the envelope decides
  uint64_t up_to_seq = 0;
  std::vector<uint8_t> envelope;  // the sealed bytes, opaque to the hub
  int64_t stored_at = 0;
};

struct HubEnqueueOutcome {
  enum Kind { kStored, kDuplicate, kQueueFull };
  Kind kind = kStored;
  uint64_t hub_seq = 0;  // kStored / kDuplicate: its queue number
  uint64_t queued_from_sender = 0;  // envelopes from the sender now queued
};

// What a hub holds for one recipient (Reader::HubQueueDepths).
struct HubDepth {
  protocol::PublicKey recipient_key{};
  uint64_t envelopes = 0;
  uint64_t bytes = 0;  // sum of the sealed envelopes' sizes
};

// One of the hub's monotonic totals (Reader::HubCounters): envelopes (and
// their bytes) stored, forwarded (acknowledged by their recipient and
// deleted), or refused, the last by reason (kHubRefused*).
struct HubCount {
  std::string event;   // "stored" | "forwarded" | "refused"
  std::string reason;  // "" except for "refused"
  uint64_t envelopes = 0;
  uint64_t bytes = 0;
};

// Reasons a hub refuses an envelope (a closed set: metric label values).
inline constexpr std::string_view kHubRefusedNotHub = "not_hub";
inline constexpr std::string_view kHubRefusedUnknownRecipient =
    "unknown_recipient";
inline constexpr std::string_view kHubRefusedQueueFull = "queue_full";

}  // namespace caravan::store
