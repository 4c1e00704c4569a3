#include "tests/unit/policy/policy_model_harness.h"

#include <algorithm>
#include <functional>
#include <sstream>

#include "daemon/policy/policy_loader.h"
#include "protocol/indicator_parse.h"
#include "tests/unit/policy/model/policy_writer.h"
#include "tests/unit/policy/model/value_model.h"

namespace caravan::policy::model {
namespace {

std::optional<protocol::IndicatorType> TypeOf(const std::string& name) {
  static const std::map<std::string, protocol::IndicatorType> kTypes = {
      {"ipv4", protocol::IndicatorType::kIpv4},
      {"ipv6", protocol::IndicatorType::kIpv6},
      {"domain", protocol::IndicatorType::kDomain},
      {"url", protocol::IndicatorType::kUrl},
      {"email", protocol::IndicatorType::kEmail},
      {"md5", protocol::IndicatorType::kMd5},
      {"sha1", protocol::IndicatorType::kSha1},
      {"sha256", protocol::IndicatorType::kSha256},
      {"cve", protocol::IndicatorType::kCve},
      {"asn", protocol::IndicatorType::kAsn}};
  auto it = kTypes.find(name);
  if (it == kTypes.end()) return std::nullopt;
  return it->second;
}

std::string NameOf(protocol::IndicatorType t) {
  static const std::vector<std::string> kNames = {
      "ipv4", "ipv6", "domain", "url", "email",
      "md5",  "sha1", "sha256", "cve", "asn"};
  return kNames[static_cast<size_t>(t)];
}

protocol::RecordBody Body(const Record& r, const std::string& value) {
  protocol::RecordBody b;
  b.origin_seq = 1;
  b.revision = r.revision;
  b.created = r.created;
  protocol::Indicator& ind = b.indicator;
  ind.type = *TypeOf(r.type);
  ind.value = value;
  ind.tlp = static_cast<protocol::Tlp>(r.tlp);
  ind.confidence = static_cast<uint8_t>(r.confidence);
  ind.tags = r.tags;
  std::sort(ind.tags.begin(), ind.tags.end());
  if (r.has_description) ind.description = "note";
  if (r.has_first_seen) ind.first_seen = r.created - 100;
  if (r.has_last_seen) ind.last_seen = r.created - 10;
  if (r.has_valid_until) ind.valid_until = r.created + 1000;
  ind.reshare = static_cast<protocol::Reshare>(r.reshare);
  ind.revoked = r.revoked;
  return b;
}

bool Same(const ShareDecision& e, const Decision& m) {
  if (ActionName(e.action) != m.action) return false;
  if (e.rule.key == m.key && e.rule.line == m.line) {
    if (e.rule.file != m.file) return false;
  } else if (std::count(m.other_rules.begin(), m.other_rules.end(),
                        std::pair<std::string, int>(e.rule.key, e.rule.line))) {
    if (e.rule.file != "protected.toml") return false;
  } else {
    return false;
  }
  if (m.action == "defer" && e.retry_at != m.retry_at) return false;
  if (m.action == "share") {
    if (e.redact != m.redact) return false;
    if (m.reshare && static_cast<int>(e.reshare_ceiling) != *m.reshare)
      return false;
  }
  return true;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

std::string EngineText(const ShareDecision& e) {
  std::ostringstream s;
  s << ActionName(e.action) << " "
    << (e.rule.file.empty() ? "(built-in)" : e.rule.file) << ":" << e.rule.line
    << " " << e.rule.key << " (" << e.rule.reason << ")";
  if (e.action == ShareDecision::Action::kDefer)
    s << " retry_at=" << e.retry_at;
  if (e.action == ShareDecision::Action::kShare) {
    s << " redact=[" << Join(e.redact)
      << "] reshare=" << static_cast<int>(e.reshare_ceiling);
  }
  return s.str();
}

std::string ModelText(const Decision& m) {
  std::ostringstream s;
  s << m.action << " " << (m.file.empty() ? "(built-in)" : m.file) << ":"
    << m.line << " " << m.key;
  for (const auto& [key, line] : m.other_rules)
    s << " (or protected.toml:" << line << " " << key << ")";
  if (m.action == "defer") s << " retry_at=" << m.retry_at;
  if (m.action == "share") {
    s << " redact=[" << Join(m.redact) << "]";
    if (m.reshare) s << " reshare=" << *m.reshare;
  }
  return s.str();
}

// One-step simplifications of a case, most drastic first.
std::vector<std::pair<Written, Case>> Candidates(const Written& w,
                                                 const Case& c) {
  std::vector<std::pair<Written, Case>> out;
  auto policy = [&](const std::function<void(Written&)>& f) {
    Written x = w;
    f(x);
    out.emplace_back(std::move(x), c);
  };
  auto record = [&](const std::function<void(Case&)>& f) {
    Case x = c;
    f(x);
    out.emplace_back(w, std::move(x));
  };
  const Policy& p = w.policy;
  for (size_t i = 0; i < p.scopes.size(); ++i) {
    policy([i](Written& x) {
      x.policy.scopes.erase(x.policy.scopes.begin() + static_cast<long>(i));
    });
  }
  for (const auto& group : p.groups) {
    const std::string g = group.first;  // clang cannot capture a binding
    policy([g](Written& x) { x.policy.groups.erase(g); });
    for (size_t i = 0; i < group.second.size(); ++i) {
      policy([g, i](Written& x) {
        auto& m = x.policy.groups[g];
        m.erase(m.begin() + static_cast<long>(i));
      });
    }
  }
  if (p.protected_assets) {
    policy([](Written& x) { x.policy.protected_assets.reset(); });
    for (size_t i = 0; i < p.protected_assets->cidrs.size(); ++i) {
      policy([i](Written& x) {
        auto& v = x.policy.protected_assets->cidrs;
        v.erase(v.begin() + static_cast<long>(i));
        x.spelling.cidrs_text.erase(x.spelling.cidrs_text.begin() +
                                    static_cast<long>(i));
      });
    }
    for (size_t i = 0; i < p.protected_assets->domain_suffixes.size(); ++i) {
      policy([i](Written& x) {
        auto& v = x.policy.protected_assets->domain_suffixes;
        v.erase(v.begin() + static_cast<long>(i));
        x.spelling.suffixes_text.erase(x.spelling.suffixes_text.begin() +
                                       static_cast<long>(i));
      });
    }
    for (size_t i = 0; i < p.protected_assets->asns.size(); ++i) {
      policy([i](Written& x) {
        auto& v = x.policy.protected_assets->asns;
        v.erase(v.begin() + static_cast<long>(i));
      });
    }
  }
  for (size_t i = 0; i <= p.scopes.size(); ++i) {
    const File& file = i == p.scopes.size() ? p.default_file : p.scopes[i];
    if (file.outbound) {
      policy([i](Written& x) {
        File& f = i == x.policy.scopes.size() ? x.policy.default_file
                                              : x.policy.scopes[i];
        f.outbound.reset();
        x.spelling.outbound.erase(f.name);
      });
      const auto keys = w.spelling.outbound.at(file.name);
      for (size_t k = 0; k < keys.size(); ++k) {
        policy([i, k](Written& x) {
          File& f = i == x.policy.scopes.size() ? x.policy.default_file
                                                : x.policy.scopes[i];
          auto& spelled = x.spelling.outbound[f.name];
          ResetOutboundKey(*f.outbound, spelled[k].first);
          spelled.erase(spelled.begin() + static_cast<long>(k));
        });
      }
    }
    if (w.spelling.inbound_table.count(file.name) &&
        w.spelling.inbound_table.at(file.name)) {
      policy([name = file.name](Written& x) {
        x.spelling.inbound_table[name] = false;
      });
    }
  }
  const Record& r = c.record;
  for (size_t i = 0; i < r.tags.size(); ++i) {
    record([i](Case& x) {
      x.record.tags.erase(x.record.tags.begin() + static_cast<long>(i));
    });
  }
  if (r.has_description)
    record([](Case& x) { x.record.has_description = false; });
  if (r.has_first_seen)
    record([](Case& x) { x.record.has_first_seen = false; });
  if (r.has_last_seen) record([](Case& x) { x.record.has_last_seen = false; });
  if (r.has_valid_until)
    record([](Case& x) { x.record.has_valid_until = false; });
  if (r.revoked) record([](Case& x) { x.record.revoked = false; });
  if (c.situation.warninglist)
    record([](Case& x) { x.situation.warninglist.reset(); });
  if (c.situation.relay) record([](Case& x) { x.situation.relay = false; });
  if (c.situation.held) record([](Case& x) { x.situation.held.reset(); });
  if (c.situation.held_variant)
    record([](Case& x) { x.situation.held_variant = 0; });
  if (c.situation.held_withdrawn)
    record([](Case& x) { x.situation.held_withdrawn = false; });
  if (c.situation.origin_departed)
    record([](Case& x) { x.situation.origin_departed = false; });
  if (c.situation.compromised_since)
    record([](Case& x) { x.situation.compromised_since.reset(); });
  if (r.tlp != 1) record([](Case& x) { x.record.tlp = 1; });
  if (r.confidence != 100) record([](Case& x) { x.record.confidence = 100; });
  if (r.reshare != 2) record([](Case& x) { x.record.reshare = 2; });
  if (c.detect) record([](Case& x) { x.detect = false; });
  if (r.revision != 1 && !c.situation.held)
    record([](Case& x) { x.record.revision = 1; });
  if (c.situation.sent_today != 0)
    record([](Case& x) { x.situation.sent_today = 0; });
  if (r.created < c.situation.now - 400 * 86400 ||
      r.created > c.situation.now - 300 * 86400) {
    record([](Case& x) { x.record.created = x.situation.now - 365 * 86400; });
  }
  // The value: a label less, then one character (UTF-8 sequence) less.
  const std::string& v = r.raw_value;
  for (size_t i = 0; i < v.size(); ++i) {
    const size_t dot = v.find('.', i);
    if ((i == 0 || v[i - 1] == '.' || v[i - 1] == '/') &&
        dot != std::string::npos && dot > i) {
      record([i, dot](Case& x) { x.record.raw_value.erase(i, dot - i + 1); });
    }
  }
  for (size_t i = 0; i < v.size() && v.size() <= 160; ++i) {
    size_t len = 1;
    while (i + len < v.size() &&
           (static_cast<unsigned char>(v[i + len]) & 0xC0) == 0x80)
      ++len;
    record([i, len](Case& x) { x.record.raw_value.erase(i, len); });
    i += len - 1;
  }
  return out;
}

}  // namespace

Outcome Judge(const PolicySet& set, const Policy& p, const Case& c) {
  Outcome o;
  Record record = c.record;
  if (c.detect) {
    auto parsed = protocol::DetectAndNormalize(record.raw_value);
    if (!parsed.ok()) {
      o.parse_error = parsed.status().message();
      return o;
    }
    // The model reads the value as the type the parser found, with the
    // scheme it documents adding to a scheme-less URL.
    record.type = NameOf(parsed->type);
    if (record.type == "url" &&
        record.raw_value.find("://") == std::string::npos) {
      record.raw_value = "http://" + record.raw_value;
    }
    o.normalized = parsed->value;
  } else {
    auto norm =
        protocol::NormalizeValue(*TypeOf(record.type), record.raw_value);
    if (!norm.ok()) {
      o.parse_error = norm.status().message();
      return o;
    }
    o.normalized = *norm;
  }
  o.accepted = true;
  o.read_as = record;
  const Situation& s = c.situation;
  ShareInputs in;
  in.now = s.now;
  in.sent_today_to_country = s.sent_today;
  in.is_relay = s.relay;
  const protocol::RecordBody body = Body(record, o.normalized);
  if (s.held) {
    // The sender's store gives the held content; "other" content differs
    // in one field the recipient would learn.
    protocol::Indicator content = body.indicator;
    content.revoked = false;
    if (!s.held_same_content) content.confidence = content.confidence == 0 ? 1 : 0;
    in.held = HeldRevision{*s.held, s.held_variant, s.held_withdrawn, content};
  }
  if (s.warninglist) in.warninglist = WarninglistFlag{*s.warninglist, "entry"};
  in.origin_trust = OriginTrust{s.origin_departed, s.compromised_since, std::nullopt};
  o.engine = DecideShare(set, body, s.country, in);
  o.model = Decide(p, record, s);
  o.agree = Same(o.engine, o.model);
  return o;
}

bool Disagrees(Written w, const Case& c, bool on_action) {
  const auto texts = WriteToml(w);
  auto loaded = LoadPolicyText(texts);
  if (!loaded.ok()) return false;
  const Outcome o = Judge(*loaded, w.policy, c);
  if (on_action)
    return o.accepted && ActionName(o.engine.action) != o.model.action;
  return o.accepted && !o.agree;
}

std::vector<std::string> CoverageKeys(const Policy& p, const Case& c,
                                      const Decision& d) {
  const bool wl = d.key.rfind("warninglist:", 0) == 0;
  const std::string base =
      d.action + " " + (wl ? std::string("warninglist") : d.key);
  std::vector<std::string> keys = {base, base + " [" + c.family + "]"};
  // A URL that really carries user info (not a '@' in its query).
  if (c.record.type == "url" && ReadUrlHosts(c.record.raw_value).has_userinfo) {
    keys.push_back(base + " [user info]");
  }
  if (d.action == "skip" && d.key != "delivered")
    keys.push_back("skip after a withdrawal");
  // Protected only through a network written in an IPv6 embedding.
  if (d.key == "cidrs" && c.record.type == "ipv4" && p.protected_assets) {
    for (const auto& text : p.protected_assets->cidrs) {
      if (text.find(':') == std::string::npos) continue;
      Policy one = p;
      one.protected_assets->cidrs = {text};
      if (!ProtectedRules(one, c.record).empty())
        keys.push_back(base + " [protected-v6]");
    }
  }
  return keys;
}

Shrunk Shrink(const Written& w, const Case& c) {
  Shrunk s{w, c, 0};
  // A disagreement on the action (shared here, withheld there) is kept one
  // while shrinking, rather than let it decay into a mere rule naming. A
  // disagreement on the rule alone is first tried under a policy that
  // shares everything, where a missed protected asset shows as a leak.
  bool on_action = Disagrees(w, c, true);
  if (!on_action) {
    Shrunk open = s;
    open.written.policy.scopes.clear();
    open.written.spelling.outbound.clear();
    open.written.spelling.inbound_table.clear();
    open.written.policy.groups.clear();
    File& def = open.written.policy.default_file;
    def.outbound = Outbound{};
    def.outbound->share = true;
    def.outbound->max_tlp = 3;
    open.written.spelling.outbound[def.name] = {
        {"share", "true"}, {"max_tlp", "\"amber+strict\""}};
    Case& oc = open.c;
    oc.record.tlp = 1;
    oc.record.revoked = false;
    oc.record.tags.clear();
    oc.situation.relay = false;
    oc.situation.held.reset();
    oc.situation.warninglist.reset();
    if (Disagrees(open.written, open.c, true)) {
      s = open;
      on_action = true;
    }
  }
  // Dropping characters must not wander into what the parser refangs
  // (a stray trailing ']' is stripped): the model reads values as written.
  const bool plain = protocol::Refang(c.record.raw_value) == c.record.raw_value;
  for (bool progress = true; progress && s.steps < 1000;) {
    progress = false;
    for (auto& [cw, cc] : Candidates(s.written, s.c)) {
      if (plain && protocol::Refang(cc.record.raw_value) != cc.record.raw_value)
        continue;
      if (Disagrees(cw, cc, on_action)) {
        s.written = std::move(cw);
        s.c = std::move(cc);
        ++s.steps;
        progress = true;
        break;
      }
    }
  }
  return s;
}

std::string PolicyText(const std::map<std::string, std::string>& files) {
  std::string s;
  for (const auto& [name, text] : files) s += "--- " + name + "\n" + text;
  return s;
}

std::string Describe(Written w, const Case& c) {
  const auto texts = WriteToml(w);
  std::ostringstream s;
  s << PolicyText(texts);
  const Record& r = c.record;
  const Situation& st = c.situation;
  s << "--- indicator (family " << c.family << ")\n"
    << (c.detect ? std::string("(no type given)") : r.type) << " "
    << r.raw_value << "\n"
    << "tlp=" << r.tlp << " confidence=" << r.confidence
    << " reshare=" << r.reshare << " revoked=" << r.revoked
    << " revision=" << r.revision << " created=" << r.created << " tags=["
    << Join(r.tags) << "] description=" << r.has_description
    << " first_seen=" << r.has_first_seen << " last_seen=" << r.has_last_seen
    << " valid_until=" << r.has_valid_until << "\n"
    << "--- to " << st.country << " now=" << st.now
    << " sent_today=" << st.sent_today << " relay=" << st.relay << " held="
    << (st.held ? std::to_string(*st.held) + " variant " +
                      std::to_string(st.held_variant) +
                      (st.held_withdrawn ? " (withdrawal)" : "") +
                      (st.held_same_content ? " same content" : " other content")
                : std::string("none"))
    << " warninglist=" << st.warninglist.value_or("none")
    << " departed=" << st.origin_departed << " compromised_since="
    << (st.compromised_since ? std::to_string(*st.compromised_since) : std::string("none"))
    << "\n";
  auto loaded = LoadPolicyText(texts);
  if (!loaded.ok()) {
    s << "(the set does not load: " << loaded.status().message() << ")\n";
    return s.str();
  }
  const Outcome o = Judge(*loaded, w.policy, c);
  if (!o.accepted) {
    s << "(refused by the parser: " << o.parse_error << ")\n";
    return s.str();
  }
  s << "parser: "
    << (c.detect ? "(type detected) " + o.read_as.type + " " : std::string())
    << o.normalized << "\n"
    << "engine: " << EngineText(o.engine) << "\n"
    << "model:  " << ModelText(o.model) << "\n";
  return s.str();
}

}  // namespace caravan::policy::model
