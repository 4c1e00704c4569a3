// Tests of the fair sharing of inbound handshake slots
// (daemon/link/handshake_slots.h), the fix for issue 14's "one host keeps
// every real peer out".

#include "daemon/link/handshake_slots.h"

#include <gtest/gtest.h>

#include <string>

namespace caravan::daemon::link {
namespace {

using Decision = HandshakeSlots::Decision;

TEST(HandshakeSlotsTest, OneSourceGetsAtMostItsShare) {
  HandshakeSlots slots({64, 4});
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(slots.Acquire("127.0.0.2", false), Decision::kAdmitted);
  }
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(slots.Acquire("127.0.0.2", false), Decision::kSourceFull);
  }
  EXPECT_EQ(slots.in_use(), 4u);
  // Another address, known or not, still gets in.
  EXPECT_EQ(slots.Acquire("127.0.0.3", false), Decision::kAdmitted);
  EXPECT_EQ(slots.Acquire("127.0.0.1", true), Decision::kAdmitted);
  // A released slot can be taken again by the same source.
  slots.Release("127.0.0.2", false);
  EXPECT_EQ(slots.Acquire("127.0.0.2", false), Decision::kAdmitted);
}

TEST(HandshakeSlotsTest, UnknownSourcesCannotTakeTheReserve) {
  HandshakeSlots slots({64, 4});
  EXPECT_EQ(slots.reserved(), 16u);
  // 48 unknown addresses fill the unknown part...
  for (int i = 0; i < 48; ++i) {
    EXPECT_EQ(slots.Acquire("10.0.0." + std::to_string(i), false),
              Decision::kAdmitted);
  }
  EXPECT_EQ(slots.Acquire("10.0.1.1", false), Decision::kAllFull);
  // ...and the known ones still have 16.
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(slots.Acquire("192.0.2." + std::to_string(i), true),
              Decision::kAdmitted);
  }
  EXPECT_EQ(slots.Acquire("192.0.2.100", true), Decision::kAllFull);
  EXPECT_EQ(slots.in_use(), 64u);
  // A known release does not open the unknown part.
  slots.Release("192.0.2.0", true);
  EXPECT_EQ(slots.Acquire("10.0.1.1", false), Decision::kAllFull);
  EXPECT_EQ(slots.Acquire("192.0.2.0", true), Decision::kAdmitted);
  slots.Release("10.0.0.0", false);
  EXPECT_EQ(slots.Acquire("10.0.1.1", false), Decision::kAdmitted);
}

TEST(HandshakeSlotsTest, KnownSourcesMayUseFreeUnknownSlotsButNotAll) {
  HandshakeSlots slots({8, 1});
  EXPECT_EQ(slots.reserved(), 2u);
  // A known address (members behind one NAT) may hold up to the reserve...
  EXPECT_EQ(slots.PerSourceCap(true), 2u);
  EXPECT_EQ(slots.PerSourceCap(false), 1u);
  EXPECT_EQ(slots.Acquire("198.51.100.1", true), Decision::kAdmitted);
  EXPECT_EQ(slots.Acquire("198.51.100.1", true), Decision::kAdmitted);
  EXPECT_EQ(slots.Acquire("198.51.100.1", true), Decision::kSourceFull);
  // ...known addresses together may go beyond the reserve into free slots.
  EXPECT_EQ(slots.Acquire("198.51.100.2", true), Decision::kAdmitted);
  EXPECT_EQ(slots.known_in_use(), 3u);
  // Unknown addresses get what is left below their part (8 - 2 = 6), which
  // known ones have eaten into: 8 - 3 = 5 remain in total.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(slots.Acquire("203.0.113." + std::to_string(i), false),
              Decision::kAdmitted);
  }
  EXPECT_EQ(slots.Acquire("203.0.113.99", false), Decision::kAllFull);
  EXPECT_EQ(slots.Acquire("198.51.100.3", true), Decision::kAllFull);
}

TEST(HandshakeSlotsTest, ReleaseForgetsEmptySourcesAndNeverUnderflows) {
  HandshakeSlots slots({4, 2});
  EXPECT_EQ(slots.Acquire("a", false), Decision::kAdmitted);
  slots.Release("a", false);
  slots.Release("a", false);  // a stray release changes nothing
  slots.Release("never", true);
  EXPECT_EQ(slots.in_use(), 0u);
  EXPECT_EQ(slots.unknown_in_use(), 0u);
  EXPECT_EQ(slots.Acquire("a", false), Decision::kAdmitted);
  EXPECT_EQ(slots.Acquire("a", false), Decision::kAdmitted);
  EXPECT_EQ(slots.Acquire("a", false), Decision::kSourceFull);
}

TEST(HandshakeSlotsTest, OneSlotHasNoReserve) {
  HandshakeSlots slots({1, 1});
  EXPECT_EQ(slots.reserved(), 0u);
  EXPECT_EQ(slots.Acquire("a", false), Decision::kAdmitted);
  EXPECT_EQ(slots.Acquire("b", true), Decision::kAllFull);
}

}  // namespace
}  // namespace caravan::daemon::link
