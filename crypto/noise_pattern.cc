#include "crypto/noise_pattern.h"

#include <charconv>

namespace caravan::crypto::noise_internal {
namespace {

struct PatternSpec {
  std::string_view name;
  std::string_view initiator_pre;  // space-separated tokens
  std::string_view responder_pre;
  std::string_view messages;  // messages separated by '|', tokens by ' '
};

// Transcribed from the Noise specification, revision 34: one-way (7.4),
// fundamental interactive (7.5) and deferred (18) patterns.
constexpr PatternSpec kPatterns[] = {
    {"N", "", "s", "e es"},
    {"K", "s", "s", "e es ss"},
    {"X", "", "s", "e es s ss"},
    {"NN", "", "", "e|e ee"},
    {"NK", "", "s", "e es|e ee"},
    {"NX", "", "", "e|e ee s es"},
    {"KN", "s", "", "e|e ee se"},
    {"KK", "s", "s", "e es ss|e ee se"},
    {"KX", "s", "", "e|e ee se s es"},
    {"XN", "", "", "e|e ee|s se"},
    {"XK", "", "s", "e es|e ee|s se"},
    {"XX", "", "", "e|e ee s es|s se"},
    {"IN", "", "", "e s|e ee se"},
    {"IK", "", "s", "e es s ss|e ee se"},
    {"IX", "", "", "e s|e ee se s es"},
    {"NK1", "", "s", "e|e ee es"},
    {"NX1", "", "", "e|e ee s|es"},
    {"X1N", "", "", "e|e ee|s|se"},
    {"X1K", "", "s", "e es|e ee|s|se"},
    {"XK1", "", "s", "e|e ee es|s se"},
    {"X1K1", "", "s", "e|e ee es|s|se"},
    {"X1X", "", "", "e|e ee s es|s|se"},
    {"XX1", "", "", "e|e ee s|es s se"},
    {"X1X1", "", "", "e|e ee s|es s|se"},
    {"K1N", "s", "", "e|e ee|se"},
    {"K1K", "s", "s", "e es|e ee|se"},
    {"KK1", "s", "s", "e|e ee se es"},
    {"K1K1", "s", "s", "e|e ee es|se"},
    {"K1X", "s", "", "e|e ee s es|se"},
    {"KX1", "s", "", "e|e ee se s|es"},
    {"K1X1", "s", "", "e|e ee s|se es"},
    {"I1N", "", "", "e s|e ee|se"},
    {"I1K", "", "s", "e es s|e ee|se"},
    {"IK1", "", "s", "e s|e ee se es"},
    {"I1K1", "", "s", "e s|e ee es|se"},
    {"I1X", "", "", "e s|e ee s es|se"},
    {"IX1", "", "", "e s|e ee se s|es"},
    {"I1X1", "", "", "e s|e ee s|se es"},
};

std::optional<Token> ParseToken(std::string_view t) {
  if (t == "e") return Token::kE;
  if (t == "s") return Token::kS;
  if (t == "ee") return Token::kEE;
  if (t == "es") return Token::kES;
  if (t == "se") return Token::kSE;
  if (t == "ss") return Token::kSS;
  return std::nullopt;
}

std::vector<Token> ParseTokens(std::string_view s) {
  std::vector<Token> out;
  while (!s.empty()) {
    size_t sp = s.find(' ');
    std::string_view t = s.substr(0, sp);
    // The table above is constant and well formed.
    out.push_back(*ParseToken(t));
    if (sp == std::string_view::npos) break;
    s.remove_prefix(sp + 1);
  }
  return out;
}

}  // namespace

std::optional<HandshakePattern> LookupPattern(std::string_view name) {
  size_t psk_at = name.find("psk");
  std::string_view base = name.substr(0, psk_at);
  const PatternSpec* spec = nullptr;
  for (const PatternSpec& p : kPatterns) {
    if (p.name == base) spec = &p;
  }
  if (spec == nullptr) return std::nullopt;

  HandshakePattern pattern;
  pattern.initiator_pre = ParseTokens(spec->initiator_pre);
  pattern.responder_pre = ParseTokens(spec->responder_pre);
  std::string_view msgs = spec->messages;
  while (true) {
    size_t bar = msgs.find('|');
    pattern.messages.push_back(ParseTokens(msgs.substr(0, bar)));
    if (bar == std::string_view::npos) break;
    msgs.remove_prefix(bar + 1);
  }

  if (psk_at == std::string_view::npos) return pattern;
  // Modifiers: "pskN" joined by '+', N strictly increasing.
  std::string_view mods = name.substr(psk_at);
  int last = -1;
  while (true) {
    size_t plus = mods.find('+');
    std::string_view mod = mods.substr(0, plus);
    if (!mod.starts_with("psk") || mod.size() < 4) return std::nullopt;
    int n = 0;
    auto [ptr, ec] = std::from_chars(mod.data() + 3, mod.data() + mod.size(), n);
    if (ec != std::errc() || ptr != mod.data() + mod.size() || n <= last ||
        static_cast<size_t>(n) > pattern.messages.size()) {
      return std::nullopt;
    }
    last = n;
    if (n == 0) {
      pattern.messages[0].insert(pattern.messages[0].begin(), Token::kPsk);
    } else {
      pattern.messages[n - 1].push_back(Token::kPsk);
    }
    ++pattern.psk_count;
    if (plus == std::string_view::npos) break;
    mods.remove_prefix(plus + 1);
  }
  pattern.psk_mode = true;
  return pattern;
}

}  // namespace caravan::crypto::noise_internal
