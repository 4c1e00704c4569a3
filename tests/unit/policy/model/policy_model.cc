#include "tests/unit/policy/model/policy_model.h"

#include <algorithm>

#include "tests/unit/policy/model/value_model.h"

namespace caravan::policy::model {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

bool Names(const File& f, const std::string& name) {
  return std::find(f.applies_to.begin(), f.applies_to.end(), name) !=
         f.applies_to.end();
}

// One label list ends with the other: equal, under, or above, always on a
// label boundary.
bool Touches(const std::vector<std::string>& a,
             const std::vector<std::string>& b) {
  const auto& shorter = a.size() <= b.size() ? a : b;
  const auto& longer = a.size() <= b.size() ? b : a;
  return std::equal(shorter.rbegin(), shorter.rend(), longer.rbegin());
}

int LineOf(const Outbound& o, const std::string& key) {
  auto it = o.lines.find(key);
  return it == o.lines.end() ? 0 : it->second;
}

bool Present(const Record& r, const std::string& field) {
  if (field == "description") return r.has_description;
  if (field == "tags") return !r.tags.empty();
  if (field == "first_seen") return r.has_first_seen;
  if (field == "last_seen") return r.has_last_seen;
  return r.has_valid_until;
}

Decision Withhold(std::string file, int line, std::string key) {
  Decision d;
  d.action = "withhold";
  d.file = std::move(file);
  d.line = line;
  d.key = std::move(key);
  return d;
}

// Steps 3..6: what the content may reach (the checks a revocation to a
// holder goes through as well). nullopt when they all pass.
std::optional<Decision> ContentChecks(const Policy& p, const Record& r,
                                      const Situation& s) {
  // 3. Protected national assets, from every country.
  const auto hit = ProtectedRules(p, r);
  if (!hit.empty()) {
    Decision d = Withhold("protected.toml", hit[0].second, hit[0].first);
    d.other_rules.assign(hit.begin() + 1, hit.end());
    return d;
  }
  // 4. TLP:RED never leaves automatically.
  if (r.tlp == kRed) return Withhold("", 0, "tlp_red");

  const File& f = OutboundFile(p, s.country);
  const Outbound o = f.outbound.value_or(Outbound{});
  auto scope_says = [&](const std::string& key) {
    return Withhold(f.name, LineOf(o, key), key);
  };
  // 5. The scope.
  if (!o.share) return scope_says("outbound.share");
  // 6. Ceiling, types, confidence, tags (compared without ASCII case).
  if (r.tlp > o.max_tlp) return scope_says("outbound.max_tlp");
  if (o.types && !o.types->count(r.type)) return scope_says("outbound.types");
  if (r.confidence < o.min_confidence)
    return scope_says("outbound.min_confidence");
  std::set<std::string> tags;
  for (const auto& t : r.tags) tags.insert(Lower(t));
  for (const auto& t : o.exclude_tags) {
    if (tags.count(t)) return scope_says("outbound.exclude_tags");
  }
  for (const auto& t : o.require_tags) {
    if (!tags.count(t)) return scope_says("outbound.require_tags");
  }
  return std::nullopt;
}

// Steps 3..10 of docs/policy.md "Evaluation order" for a current revision
// that is not a revocation, judged as a first send.
Decision FirstSend(const Policy& p, const Record& r, const Situation& s) {
  if (auto no = ContentChecks(p, r, s)) return *no;
  const File& f = OutboundFile(p, s.country);
  const Outbound o = f.outbound.value_or(Outbound{});
  auto scope_says = [&](const std::string& key) {
    return Withhold(f.name, LineOf(o, key), key);
  };
  // 7. A relay cannot change a signed record.
  if (s.relay) {
    if (r.reshare != kFederation) return Withhold("", 0, "record.reshare");
    if (o.reshare != kFederation) return scope_says("outbound.reshare");
    for (const auto& field : o.redact) {
      if (Present(r, field)) return scope_says("outbound.redact");
    }
  }
  // 8. Embargo: deferred while created + embargo > now.
  Decision d;
  d.file = f.name;
  if (o.embargo > 0 && r.created + o.embargo > s.now) {
    d.action = "defer";
    d.key = "outbound.embargo";
    d.line = LineOf(o, d.key);
    d.retry_at = r.created + o.embargo;
    return d;
  }
  // 9. Quota per UTC day: wait for the next midnight UTC.
  if (o.max_per_day && s.sent_today >= *o.max_per_day) {
    d.action = "defer";
    d.key = "outbound.max_per_day";
    d.line = LineOf(o, d.key);
    d.retry_at = (s.now / 86400 + 1) * 86400;
    return d;
  }
  // 10. Share, redacted as listed, with the lower reshare ceiling. A relay
  // redacts nothing (step 6 made sure nothing needs it).
  d.action = "share";
  d.key = "outbound.share";
  d.line = LineOf(o, d.key);
  if (!s.relay) {
    for (const auto& field : kRedactFields) {
      if (o.redact.count(field)) d.redact.push_back(field);
    }
  }
  d.reshare = std::min(r.reshare, o.reshare);
  return d;
}

}  // namespace

const File& OutboundFile(const Policy& p, const std::string& country) {
  for (const File& f : p.scopes) {
    if (Names(f, country)) {
      if (f.outbound) return f;
      break;
    }
  }
  // The one file naming a group the country is in.
  const File* group_file = nullptr;
  int claimants = 0;
  for (const File& f : p.scopes) {
    for (const auto& [group, members] : p.groups) {
      if (Names(f, group) &&
          std::find(members.begin(), members.end(), country) != members.end()) {
        group_file = &f;
        ++claimants;
        break;
      }
    }
  }
  if (claimants == 1 && group_file->outbound) return *group_file;
  return p.default_file;
}

std::vector<std::pair<std::string, int>> ProtectedRules(const Policy& p,
                                                        const Record& r) {
  std::vector<std::pair<std::string, int>> rules;
  if (!p.protected_assets) return rules;
  const Protected& pa = *p.protected_assets;
  const Readings v = ReadValue(r.type, r.raw_value);
  // Any reading of the value against any form of a protected network.
  bool cidr = false;
  for (const auto& text : pa.cidrs) {
    auto net = ReadIp(text);
    if (!net) continue;
    for (const Net& a : IpReadings(Masked(*net))) {
      for (const Net& b : v.nets) cidr = cidr || Overlaps(a, b);
    }
  }
  if (cidr) rules.emplace_back("cidrs", pa.lines.at("cidrs"));
  bool suffix = false;
  for (const auto& text : pa.domain_suffixes) {
    auto labels = DomainLabels(text);
    if (!labels) continue;
    for (const auto& d : v.domains) suffix = suffix || Touches(*labels, d);
  }
  if (suffix)
    rules.emplace_back("domain_suffixes", pa.lines.at("domain_suffixes"));
  if (v.asn && std::count(pa.asns.begin(), pa.asns.end(), *v.asn)) {
    rules.emplace_back("asns", pa.lines.at("asns"));
  }
  // A host nobody can predict might be a protected one.
  if (!v.unreadable.empty() &&
      !(pa.cidrs.empty() && pa.domain_suffixes.empty())) {
    rules.emplace_back(pa.domain_suffixes.empty() ? "cidrs" : "domain_suffixes",
                       0);
  }
  return rules;
}

// "Updates and holders": a holder that may not see what the current
// revision carries gets our withdrawal (we are the origin), nothing (we
// relay), or nothing more (it holds our withdrawal already).
Decision ToHolder(Decision d, const Situation& s) {
  if (s.held_withdrawn) {
    d.action = "skip";
  } else if (!s.relay) {
    d.action = "withdraw";
  }
  return d;
}

Decision Decide(const Policy& p, const Record& r, const Situation& s) {
  // 0. The peer already holds this revision or a later one.
  if (s.held && *s.held >= r.revision) {
    Decision d;
    d.action = "skip";
    d.key = "delivered";
    return d;
  }
  // Member trust, before any file and for holders too: a compromised key's
  // revisions from `since` on, and a removed member's records, stay home.
  if (s.compromised_since && r.created >= *s.compromised_since) {
    return Withhold("", 0, "compromised_key");
  }
  if (s.origin_departed) return Withhold("", 0, "removed_member");
  const File& scope = OutboundFile(p, s.country);
  const Outbound o = scope.outbound.value_or(Outbound{});
  // 1. A revocation would only leak the value to a peer that does not hold
  // it. To a holder it carries the fields of the revision it retracts, so
  // it passes the content checks (3..6) and then goes, whatever the relay,
  // embargo and quota rules say.
  if (r.revoked) {
    if (!s.held) return Withhold("", 0, "revocation");
    if (auto no = ContentChecks(p, r, s)) return ToHolder(*no, s);
    if (s.relay) {
      // A relayed revocation that tells the holder something it never had
      // goes only as a relayed record would (7).
      if (!s.held_same_content) {
        if (r.reshare != kFederation) return Withhold("", 0, "record.reshare");
        if (o.reshare != kFederation) {
          return Withhold(scope.name, LineOf(o, "outbound.reshare"),
                          "outbound.reshare");
        }
      }
      // A relay cannot redact.
      for (const auto& field : o.redact) {
        if (Present(r, field)) {
          return Withhold(scope.name, LineOf(o, "outbound.redact"),
                          "outbound.redact");
        }
      }
    }
    Decision d;
    d.action = "share";
    d.key = "revocation";
    if (!s.relay) {
      for (const auto& field : kRedactFields) {
        if (o.redact.count(field)) d.redact.push_back(field);
      }
    }
    // Redacted and its reshare lowered to the scope's by the origin; a
    // relay forwards the signed revocation unchanged (docs/policy.md says
    // "lowered" for the origin only).
    d.reshare = s.relay ? r.reshare : std::min(r.reshare, o.reshare);
    return d;
  }
  // 2. A warninglist match that was not forced keeps the value from peers
  // that do not hold it (docs/warninglists.md).
  if (s.warninglist && !s.held) {
    return Withhold("", 0, "warninglist:" + *s.warninglist);
  }
  // 3..10: an update is judged like a first send.
  Decision d = FirstSend(p, r, s);
  if (s.held && d.action == "withhold") return ToHolder(d, s);
  return d;
}

}  // namespace caravan::policy::model
