#include "protocol/id_prefix.h"

namespace caravan::protocol {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool AllHex(std::string_view text) {
  for (char c : text) {
    if (HexValue(c) < 0) return false;
  }
  return true;
}

}  // namespace

bool LooksLikeIdPrefix(std::string_view text) {
  return text.size() >= kMinIdPrefixDigits && text.size() <= 64 &&
         AllHex(text);
}

Result<IdPrefix> ParseIdPrefix(std::string_view text) {
  // Quoted back in messages: cut so a pasted megabyte is not echoed.
  const std::string shown(text.substr(0, 80));
  if (text.size() > 64 || !AllHex(text)) {
    return InvalidInput("'" + shown +
                        "' is not an indicator id (64 hex digits) or a "
                        "prefix of one");
  }
  if (text.size() < kMinIdPrefixDigits) {
    return InvalidInput("id prefix '" + shown + "' is too short: give at "
                        "least " + std::to_string(kMinIdPrefixDigits) +
                        " hex digits");
  }
  IdPrefix p;
  p.low.fill(0x00);
  p.high.fill(0xff);
  for (size_t i = 0; i < text.size(); ++i) {
    const int v = HexValue(text[i]);
    p.hex += static_cast<char>(v < 10 ? '0' + v : 'a' + v - 10);
    uint8_t& low = p.low[i / 2];
    uint8_t& high = p.high[i / 2];
    if (i % 2 == 0) {
      low = static_cast<uint8_t>(v << 4);
      high = static_cast<uint8_t>((v << 4) | 0x0f);
    } else {
      low = static_cast<uint8_t>(low | v);
      high = static_cast<uint8_t>((high & 0xf0) | v);
    }
  }
  return p;
}

}  // namespace caravan::protocol
