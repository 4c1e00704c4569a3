#include "protocol/indicator.h"

#include <array>
#include <cctype>

namespace caravan::protocol {
namespace {

constexpr std::array<std::string_view, kIndicatorTypeCount> kTypeNames = {
    "ipv4", "ipv6", "domain", "url", "email",
    "md5",  "sha1", "sha256", "cve", "asn"};
constexpr std::array<std::string_view, 5> kTlpNames = {
    "clear", "green", "amber", "amber+strict", "red"};
constexpr std::array<std::string_view, 3> kReshareNames = {"none", "direct",
                                                           "federation"};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

template <size_t N>
std::optional<size_t> FindIgnoreCase(const std::array<std::string_view, N>& names,
                                     std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (EqualsIgnoreCase(names[i], name)) return i;
  }
  return std::nullopt;
}

}  // namespace

std::string_view TypeName(IndicatorType type) {
  const size_t i = static_cast<size_t>(type);
  return i < kTypeNames.size() ? kTypeNames[i] : "unknown";
}

std::optional<IndicatorType> ParseTypeName(std::string_view name) {
  auto i = FindIgnoreCase(kTypeNames, name);
  if (!i) return std::nullopt;
  return static_cast<IndicatorType>(*i);
}

std::string_view TlpName(Tlp tlp) {
  const size_t i = static_cast<size_t>(tlp);
  return i < kTlpNames.size() ? kTlpNames[i] : "unknown";
}

std::optional<Tlp> ParseTlpName(std::string_view name) {
  // "TLP:AMBER+STRICT" is how TLP 2.0 labels are written in reports and
  // STIX marking definitions; the bare name is what CONTRACT.md uses.
  if (name.size() >= 4 && EqualsIgnoreCase(name.substr(0, 4), "tlp:")) {
    name.remove_prefix(4);
  }
  // TLP 1.0 spelled "white"; TLP 2.0 renamed it "clear". Accept the old
  // name so feeds that still use it are not refused.
  if (EqualsIgnoreCase(name, "white")) return Tlp::kClear;
  auto i = FindIgnoreCase(kTlpNames, name);
  if (!i) return std::nullopt;
  return static_cast<Tlp>(*i);
}

std::string_view ReshareName(Reshare reshare) {
  const size_t i = static_cast<size_t>(reshare);
  return i < kReshareNames.size() ? kReshareNames[i] : "unknown";
}

std::optional<Reshare> ParseReshareName(std::string_view name) {
  auto i = FindIgnoreCase(kReshareNames, name);
  if (!i) return std::nullopt;
  return static_cast<Reshare>(*i);
}

}  // namespace caravan::protocol
