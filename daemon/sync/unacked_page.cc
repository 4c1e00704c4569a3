#include "daemon/sync/unacked_page.h"

#include <sodium.h>

#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "protocol/record_codec.h"

namespace caravan::daemon::sync {

using nlohmann::json;

std::string EncodeUnackedPage(const std::vector<SentRecord>& sent) {
  // Written out by hand, not through a json tree: one page per 1000
  // records sent, and building the tree (an allocation per value) was a
  // twentieth of a sender's CPU in a catch-up. The text is what
  // json::dump() of the same tree gives (outbound_page_test checks it);
  // only the rules' strings need escaping, and dump() does that.
  std::map<std::tuple<std::string, int, std::string, std::string>, size_t>
      index;
  std::string rules;
  std::string records;
  records.reserve(sent.size() * 112);
  char hex[2 * sizeof(protocol::IndicatorId) + 1];
  for (const auto& s : sent) {
    auto key = std::make_tuple(s.rule.file, s.rule.line, s.rule.key,
                               s.rule.reason);
    auto [it, fresh] = index.emplace(key, index.size());
    if (fresh) {
      rules += rules.empty() ? "" : ",";
      rules +=
          json::array({s.rule.file, s.rule.line, s.rule.key, s.rule.reason})
              .dump();
    }
    sodium_bin2hex(hex, sizeof hex, s.id.data(), s.id.size());
    records += records.empty() ? "[" : ",[";
    records += std::to_string(s.seq);
    records += ",\"";
    records += hex;
    records += "\",";
    records += std::to_string(s.revision);
    records += ',';
    records += std::to_string(s.variant);
    records += ',';
    records += std::to_string(it->second);
    records += s.withdrawal ? ",true," : ",false,";
    records += std::to_string(s.log_end);
    records += s.from_withheld ? ",true]" : ",false]";
  }
  return "{\"rules\":[" + rules + "],\"sent\":[" + records + "]}";
}

Result<std::vector<SentRecord>> DecodeUnackedPage(const std::string& text) {
  auto bad = [] {
    return InvalidInput("unacked page: not the stored SentRecord form");
  };
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("rules") || !doc.contains("sent") ||
      !doc["rules"].is_array() || !doc["sent"].is_array()) {
    return bad();
  }
  std::vector<policy::Rule> rules;
  for (const auto& r : doc["rules"]) {
    if (!r.is_array() || r.size() != 4 || !r[0].is_string() ||
        !r[1].is_number_integer() || !r[2].is_string() ||
        !r[3].is_string()) {
      return bad();
    }
    rules.push_back({r[0].get<std::string>(), r[1].get<int>(),
                     r[2].get<std::string>(), r[3].get<std::string>()});
  }
  std::vector<SentRecord> sent;
  for (const auto& e : doc["sent"]) {
    if (!e.is_array() || e.size() != 8 || !e[0].is_number_unsigned() ||
        !e[1].is_string() || !e[2].is_number_unsigned() ||
        !e[3].is_number_unsigned() || !e[4].is_number_unsigned() ||
        !e[5].is_boolean() || !e[6].is_number_unsigned() ||
        !e[7].is_boolean()) {
      return bad();
    }
    auto id = protocol::IdFromHex(e[1].get<std::string>());
    const auto rule = e[4].get<uint64_t>();
    if (!id || rule >= rules.size()) return bad();
    SentRecord s;
    s.seq = e[0].get<uint64_t>();
    s.id = *id;
    s.revision = e[2].get<uint32_t>();
    s.variant = e[3].get<uint32_t>();
    s.rule = rules[rule];
    s.withdrawal = e[5].get<bool>();
    s.log_end = e[6].get<uint64_t>();
    s.from_withheld = e[7].get<bool>();
    sent.push_back(std::move(s));
  }
  return sent;
}

}  // namespace caravan::daemon::sync
