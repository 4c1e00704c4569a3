// Fuzz: IP network parsing (protocol/ip_network.h) and the IPv4-in-IPv6
// embeddings (protocol/ip_embedded.h) that protected-asset checks rely on.
// The input is split at the first NUL into two networks. Invariants
// checked: a parsed network's canonical text parses back to itself; every
// canonical range of a network overlaps it canonically; canonical overlap
// is symmetric and implied by plain overlap.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "protocol/ip_embedded.h"
#include "protocol/ip_network.h"

namespace {

using caravan::protocol::IpNetwork;

std::optional<IpNetwork> ParseChecked(std::string_view text) {
  auto n = caravan::protocol::ParseIpNetwork(text);
  if (!n) return n;
  if (n->prefix > n->max_prefix()) std::abort();
  auto back = caravan::protocol::ParseIpNetwork(n->ToString());
  if (!back || !(*back == *n)) std::abort();
  return n;
}

void CheckRanges(const IpNetwork& n) {
  using namespace caravan::protocol;
  auto ranges = CanonicalRanges(n);
  if (ranges.empty() || !(ranges.front().network == n)) std::abort();
  for (const auto& r : ranges) {
    if (!r.form.empty() && r.network.is_v6) std::abort();
    if (!OverlapsCanonically(n, r.network)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caravan::protocol;
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const size_t nul = all.find('\0');
  const std::string_view a_text = all.substr(0, nul);
  const std::string_view b_text =
      nul == std::string_view::npos ? std::string_view() : all.substr(nul + 1);
  auto a = ParseChecked(a_text);
  auto b = ParseChecked(b_text);
  if (a) CheckRanges(*a);
  if (b) CheckRanges(*b);
  if (a && b) {
    const bool ab = OverlapsCanonically(*a, *b);
    if (ab != OverlapsCanonically(*b, *a)) std::abort();
    if (a->is_v6 == b->is_v6 && Overlaps(*a, *b) && !ab) std::abort();
    if (Contains(*a, *b) && !Overlaps(*a, *b)) std::abort();
  }
  return 0;
}
