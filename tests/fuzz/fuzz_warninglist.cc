// Fuzz: MISP warninglist parsing and matching. A parsed list respects every
// limit; the set built from it never crashes or hangs on matching, and a
// cidr list always matches each of its own entries.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/ip_network.h"
#include "protocol/formats/warninglist.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caravan::protocol;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto list = ParseWarninglist(text, "fuzz.json");
  if (!list.ok()) return 0;
  if (list->entries.empty() || list->entries.size() > kMaxWarninglistEntries) {
    std::abort();
  }
  for (const auto& e : list->entries) {
    if (e.empty() || e.size() > kMaxWarninglistEntryBytes) std::abort();
  }
  const Warninglist copy = *list;
  auto set = WarninglistSet::Build({*list}, HostnameMatch::kSubdomain);
  // ParseWarninglist already compiled every regex and parsed every CIDR:
  // Build must accept what it accepted.
  if (set.list_count() != 1) std::abort();
  const IndicatorType kTypes[] = {IndicatorType::kIpv4, IndicatorType::kIpv6,
                                  IndicatorType::kDomain, IndicatorType::kUrl,
                                  IndicatorType::kEmail, IndicatorType::kMd5};
  size_t checked = 0;
  for (const auto& e : copy.entries) {
    if (++checked > 64) break;  // bounded work per input
    for (IndicatorType t : kTypes) (void)set.MatchAll(t, e);
    if (copy.type == WarninglistType::kCidr) {
      auto net = ParseIpNetwork(e);
      if (!net) std::abort();
      const IndicatorType t =
          net->is_v6 ? IndicatorType::kIpv6 : IndicatorType::kIpv4;
      const bool applies = (copy.applies_to >> static_cast<int>(t)) & 1u;
      if (applies && !set.Match(t, net->ToString())) std::abort();
    }
  }
  (void)set.Match(IndicatorType::kUrl, "http://a.example:8080/x?y#z");
  (void)set.Match(IndicatorType::kEmail, "user@a.example");
  return 0;
}
