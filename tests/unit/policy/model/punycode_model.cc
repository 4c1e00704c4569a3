#include "tests/unit/policy/model/punycode_model.h"

#include <cstdint>
#include <vector>

namespace caravan::policy::model {
namespace {

std::optional<std::vector<uint32_t>> DecodeUtf8(std::string_view s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    int extra = b < 0x80         ? 0
                : (b >> 5) == 6  ? 1
                : (b >> 4) == 14 ? 2
                : (b >> 3) == 30 ? 3
                                 : -1;
    if (extra < 0 || i + static_cast<size_t>(extra) >= s.size())
      return std::nullopt;
    uint32_t cp = extra == 0 ? b : b & (0x3f >> extra);
    for (int k = 1; k <= extra; ++k) {
      const auto c = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((c >> 6) != 2) return std::nullopt;
      cp = (cp << 6) | (c & 0x3f);
    }
    out.push_back(cp);
    i += static_cast<size_t>(extra) + 1;
  }
  return out;
}

// Simple lower-case mapping for the scripts the generator uses.
uint32_t Fold(uint32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;    // Latin-1
  if (c >= 0x410 && c <= 0x42F) return c + 32;               // А..Я
  if (c >= 0x400 && c <= 0x40F) return c + 80;               // Ѐ..Џ
  if (c >= 0x460 && c <= 0x4BF && c % 2 == 0) return c + 1;  // Ѡ..Ҿ pairs
  if (c >= 0x4D0 && c <= 0x4FF && c % 2 == 0) return c + 1;  // Ӑ..Ӿ pairs
  return c;
}

// RFC 3492 section 6.1.
uint32_t Adapt(uint32_t delta, uint32_t points, bool first) {
  delta = first ? delta / 700 : delta / 2;
  delta += delta / points;
  uint32_t k = 0;
  while (delta > ((36 - 1) * 26) / 2) {
    delta /= 36 - 1;
    k += 36;
  }
  return k + (36 * delta) / (delta + 38);
}

char Digit(uint32_t d) {
  return static_cast<char>(d < 26 ? 'a' + d : '0' + (d - 26));
}

// RFC 3492 section 6.3.
std::string Encode(const std::vector<uint32_t>& input) {
  std::string out;
  uint32_t n = 128, delta = 0, bias = 72;
  for (uint32_t c : input) {
    if (c < 0x80) out.push_back(static_cast<char>(c));
  }
  const uint32_t basic = static_cast<uint32_t>(out.size());
  uint32_t h = basic;
  if (basic > 0) out.push_back('-');
  while (h < input.size()) {
    uint32_t m = 0x10FFFF + 1;
    for (uint32_t c : input) {
      if (c >= n && c < m) m = c;
    }
    delta += (m - n) * (h + 1);
    n = m;
    for (uint32_t c : input) {
      if (c < n) ++delta;
      if (c == n) {
        uint32_t q = delta;
        for (uint32_t k = 36;; k += 36) {
          const uint32_t t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
          if (q < t) break;
          out.push_back(Digit(t + (q - t) % (36 - t)));
          q = (q - t) / (36 - t);
        }
        out.push_back(Digit(q));
        bias = Adapt(delta, h + 1, h == basic);
        delta = 0;
        ++h;
      }
    }
    ++delta;
    ++n;
  }
  return out;
}

}  // namespace

std::optional<std::string> ToALabel(std::string_view utf8_label) {
  auto points = DecodeUtf8(utf8_label);
  if (!points || points->empty()) return std::nullopt;
  bool ascii = true;
  for (uint32_t& c : *points) {
    c = Fold(c);
    ascii = ascii && c < 0x80;
  }
  if (ascii) {
    std::string out;
    for (uint32_t c : *points) out.push_back(static_cast<char>(c));
    return out;
  }
  return "xn--" + Encode(*points);
}

}  // namespace caravan::policy::model
