// Issue 13's federation property test: three real caravand nodes (UZ, KZ,
// CN; all linked, or only UZ-KZ-CN so that KZ relays) driven through the
// CLI by a seeded random sequence of submits, updates, revocations, policy
// rewrites with `caravan policy reload`, stops (SIGTERM or kill -9),
// restarts and waits. Afterwards every node is started, every link
// settles, and the stores and audit logs are scanned for the sovereignty
// guarantee (docs/policy.md, "Evaluation order";
// daemon/policy/share_decision.h):
//
//  a. every `share` a sender audited was allowed by one of the sender's
//     policy versions in force while it could have been decided, and every
//     revision a receiver holds is covered by such an audit entry at the
//     node it came from (or is the receiver's own);
//  b. so nothing protected, TLP:RED, above a ceiling, of a type or
//     confidence the scope refuses, with an excluded tag or without a
//     required one, with a field the scope redacts or a reshare above the
//     scope's ever arrived; a relay forwarded only unchanged federation
//     records; a revocation revealed nothing its holder had not seen unless
//     the policy allowed it; a withdrawal carries only what its holder had;
//  c. every direct holder of an earlier revision of an origin's indicator
//     holds the current revision, a withdrawal, or the revocation (relays
//     send nothing in that case, by design: only the origin withdraws);
//  d. every stored revision verifies and every audit chain verifies.
//
// The test keeps its own model: every revision's content as the origin
// stored it (read back with `caravan show` after each change, so it does
// not matter how the daemon merges a re-submission), and each node's
// policy versions with the time each was in force. It judges with its own
// reading of docs/policy.md, not with the daemon's policy code.
//
// CARAVAN_FEDPROP_SEED and CARAVAN_FEDPROP_STEPS choose the run (CI: a
// fixed seed and a short run); scripts/fedprop runs long random ones. A
// failure prints the seed, the step log, the policy history and each
// violating record.

#include <gtest/gtest.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "tests/integration/federation_fixture.h"
#include "tests/integration/sanitized.h"

namespace caravan::integration {
namespace {

using nlohmann::json;

// The CI run: fixed, short, and shorter under ASan (about 10x slower), so
// it stays within the suite's time budget.
constexpr uint64_t kDefaultSeed = 20261205;
constexpr int kDefaultSteps = kSanitized ? 25 : 60;
// A long run from scripts/fedprop still has to end.
constexpr int kMaxSteps = 5000;

// The variant bits of daemon/sync/outbound.h (VariantNumber): redacted
// fields in the low bits (description = 1, tags = 2), a lowered reshare as
// (reshare + 1) << 8, and a withdrawal as 1 << 16.
constexpr uint32_t kDescriptionRedacted = 1u;
constexpr uint32_t kTagsRedacted = 2u;
constexpr uint32_t kWithdrawalVariant = 1u << 16;

constexpr int64_t kForever = INT64_MAX / 4;

uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 10);
}

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

// ---- Vocabulary (docs/policy.md "Keys") ----

const std::vector<std::string> kTlpNames = {"clear", "green", "amber",
                                            "amber+strict", "red"};
const std::vector<std::string> kReshareNames = {"none", "direct", "federation"};
const std::vector<std::string> kTypes = {"domain", "ipv4", "url"};
const std::vector<std::string> kTags = {"phishing", "c2", "internal",
                                        "ca-track"};

int Rank(const std::vector<std::string>& names, const std::string& name) {
  auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}
int TlpRank(const std::string& tlp) { return Rank(kTlpNames, tlp); }
int ReshareRank(const std::string& r) { return Rank(kReshareNames, r); }

std::string Join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ",") + x;
  return "[" + out + "]";
}

std::string TomlList(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "\"" : ", \"") + x + "\"";
  return "[" + out + "]";
}

// ---- What a revision says ----

struct Content {
  std::string type, value, tlp = "green", description;
  int confidence = 0;
  std::set<std::string> tags;
  int reshare = 0;  // index into kReshareNames
  bool revoked = false;

  std::string Text() const {
    return type + " " + value + " tlp=" + tlp +
           " conf=" + std::to_string(confidence) + " tags=" + Join(tags) +
           " desc=\"" + description + "\" reshare=" + kReshareNames[reshare] +
           (revoked ? " REVOKED" : "");
  }
};

Content ContentFromJson(const json& ind) {
  Content c;
  c.type = ind.value("type", "");
  c.value = ind.value("value", "");
  c.tlp = ind.value("tlp", "");
  c.description = ind.value("description", "");
  c.confidence = ind.value("confidence", 0);
  for (const auto& t : ind["tags"]) c.tags.insert(t.get<std::string>());
  c.reshare = std::max(0, ReshareRank(ind.value("reshare", "none")));
  c.revoked = ind.value("revoked", false);
  return c;
}

// The fields a receiver sees of `c` sent as `variant` (not a withdrawal).
Content ApplyVariant(Content c, uint32_t variant) {
  if (variant & kDescriptionRedacted) c.description.clear();
  if (variant & kTagsRedacted) c.tags.clear();
  const uint32_t lowered = (variant >> 8) & 3u;
  if (lowered != 0) c.reshare = static_cast<int>(lowered) - 1;
  return c;
}

// A withdrawal of what the holder had: type, value, TLP, confidence and
// reshare only (share_decision.h).
Content WithdrawalOf(const Content& had) {
  Content w;
  w.type = had.type;
  w.value = had.value;
  w.tlp = had.tlp;
  w.confidence = had.confidence;
  w.reshare = had.reshare;
  w.revoked = true;
  return w;
}

// The differences a receiver can see between two contents ("" if none);
// `with_reshare` compares reshare too.
std::string Differences(const Content& want, const Content& got,
                        bool with_reshare) {
  std::string d;
  auto add = [&](const std::string& field, const std::string& w,
                 const std::string& g) {
    if (w != g) d += " " + field + ": " + w + " -> " + g + ";";
  };
  add("tlp", want.tlp, got.tlp);
  add("confidence", std::to_string(want.confidence),
      std::to_string(got.confidence));
  add("tags", Join(want.tags), Join(got.tags));
  add("description", want.description, got.description);
  if (with_reshare) {
    add("reshare", kReshareNames[want.reshare], kReshareNames[got.reshare]);
  }
  add("revoked", want.revoked ? "true" : "false",
      got.revoked ? "true" : "false");
  return d;
}

// ---- A node's policy, as the test wrote it ----

struct Scope {
  bool share = false;
  std::string max_tlp = "green";
  std::set<std::string> types;  // empty: every type
  int min_confidence = 0;
  std::set<std::string> exclude_tags, require_tags, redact;
  int reshare = 0;

  std::string Toml(const std::string& country) const {
    std::ostringstream t;
    t << "applies_to = [\"" << country << "\"]\n[outbound]\n"
      << "share = " << (share ? "true" : "false") << "\n"
      << "max_tlp = \"" << max_tlp << "\"\n";
    if (!types.empty()) t << "types = " << TomlList(types) << "\n";
    t << "min_confidence = " << min_confidence << "\n";
    if (!exclude_tags.empty()) {
      t << "exclude_tags = " << TomlList(exclude_tags) << "\n";
    }
    if (!require_tags.empty()) {
      t << "require_tags = " << TomlList(require_tags) << "\n";
    }
    if (!redact.empty()) t << "redact = " << TomlList(redact) << "\n";
    t << "reshare = \"" << kReshareNames[reshare] << "\"\n";
    return t.str();
  }
  std::string Text() const {
    if (!share) return "share=false";
    return "share max_tlp=" + max_tlp + " types=" + Join(types) +
           " min_conf=" + std::to_string(min_confidence) +
           " exclude=" + Join(exclude_tags) + " require=" + Join(require_tags) +
           " redact=" + Join(redact) + " reshare=" + kReshareNames[reshare];
  }
};

// IPv4 text to a number; nullopt if it is not a dotted quad.
std::optional<uint32_t> ParseIpv4(const std::string& s) {
  uint32_t out = 0;
  int parts = 0;
  std::istringstream in(s);
  std::string part;
  while (std::getline(in, part, '.')) {
    if (part.empty() || part.size() > 3 ||
        part.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    const int v = std::stoi(part);
    if (v > 255) return std::nullopt;
    out = (out << 8) | static_cast<uint32_t>(v);
    ++parts;
  }
  if (parts != 4) return std::nullopt;
  return out;
}

struct Protected {
  std::set<std::string> cidrs;     // IPv4 networks "a.b.c.d/n"
  std::set<std::string> suffixes;  // domain suffixes

  std::string Toml() const {
    std::string t;
    if (!cidrs.empty()) t += "cidrs = " + TomlList(cidrs) + "\n";
    if (!suffixes.empty()) {
      t += "domain_suffixes = " + TomlList(suffixes) + "\n";
    }
    return t;
  }
  std::string Text() const {
    return "protected cidrs=" + Join(cidrs) + " suffixes=" + Join(suffixes);
  }
  bool IpMatches(const std::string& ip) const {
    auto a = ParseIpv4(ip);
    if (!a) return false;
    for (const auto& c : cidrs) {
      const size_t slash = c.find('/');
      auto net = ParseIpv4(c.substr(0, slash));
      const int bits = std::stoi(c.substr(slash + 1));
      const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
      if (net && (*a & mask) == (*net & mask)) return true;
    }
    return false;
  }
  // Equal to a suffix, under it on a label boundary, or a parent of it.
  bool DomainMatches(const std::string& d) const {
    auto under = [](const std::string& a, const std::string& b) {
      return a.size() > b.size() &&
             a.compare(a.size() - b.size(), b.size(), b) == 0 &&
             a[a.size() - b.size() - 1] == '.';
    };
    for (const auto& s : suffixes) {
      if (d == s || under(d, s) || under(s, d)) return true;
    }
    return false;
  }
  bool Matches(const Content& c) const {
    std::string host = c.value;
    if (c.type == "url") {
      const size_t start = host.find("://");
      host = start == std::string::npos ? host : host.substr(start + 3);
      host = host.substr(0, host.find_first_of("/:?#"));
    }
    return IpMatches(host) || (!ParseIpv4(host) && DomainMatches(host));
  }
};

struct PolicyVersion {
  int number = 0;
  int64_t from = 0;       // in force from (Unix seconds, inclusive)
  int64_t to = kForever;  // until (inclusive; the reload's end)
  std::map<std::string, Scope> scopes;  // by recipient country
  Protected prot;

  const Scope& ScopeFor(const std::string& country) const {
    static const Scope kDefault;  // default.toml: share = false
    auto it = scopes.find(country);
    return it == scopes.end() ? kDefault : it->second;
  }
};

// Why `v` would not send `held` (the record as the sender stores it) to
// `country` as `variant`; empty when it would. `relay`: the sender is not
// the origin. `holder`: the peer holds the indicator (a revocation: the
// value is no news, so protected assets are not asked).
std::string WhyNotShared(const PolicyVersion& v, const std::string& country,
                         const Content& held, bool relay, uint32_t variant,
                         bool holder = false) {
  const Scope& s = v.ScopeFor(country);
  if (!holder && v.prot.Matches(held)) return "protected asset";
  if (held.tlp == "red") return "TLP:RED";
  if (!s.share) return "share = false";
  if (TlpRank(held.tlp) > TlpRank(s.max_tlp)) {
    return "TLP " + held.tlp + " above max_tlp " + s.max_tlp;
  }
  if (!s.types.empty() && !s.types.count(held.type)) {
    return "type " + held.type + " not in types";
  }
  if (held.confidence < s.min_confidence) return "confidence below minimum";
  for (const auto& t : s.exclude_tags) {
    if (held.tags.count(t)) return "excluded tag " + t;
  }
  for (const auto& t : s.require_tags) {
    if (!held.tags.count(t)) return "required tag " + t + " missing";
  }
  if (relay) {
    if (held.reshare != 2)
      return "relayed a record whose reshare is not federation";
    if (s.reshare != 2) return "relayed under a scope reshare below federation";
    if (s.redact.count("description") && !held.description.empty()) {
      return "relayed a description the scope redacts";
    }
    if (s.redact.count("tags") && !held.tags.empty()) {
      return "relayed tags the scope redacts";
    }
    return "";
  }
  const Content sent = ApplyVariant(held, variant);
  if (s.redact.count("description") && !sent.description.empty()) {
    return "description sent though the scope redacts it";
  }
  if (s.redact.count("tags") && !sent.tags.empty()) {
    return "tags sent though the scope redacts them";
  }
  if (sent.reshare > s.reshare) {
    return "reshare " + kReshareNames[sent.reshare] + " above the scope's " +
           kReshareNames[s.reshare];
  }
  return "";
}

// ---- The indicators, as their origins stored them ----

struct IndicatorModel {
  int origin = 0;  // node index
  std::string type, value;
  std::map<uint32_t, Content> revisions;
  std::map<uint32_t, int64_t> created;  // the origin's `created`
};

// One record a sender's audit log says it sent (share or withdraw).
struct AuditedSend {
  int sender = 0, receiver = 0;
  std::string action, id, rule;
  uint32_t revision = 0, variant = 0;
  int64_t time = 0;
  uint64_t audit_seq = 0;
};

const std::vector<std::string> kNames = {"CERT-UZ", "CERT-KZ", "CERT-CN"};
const std::vector<std::string> kCountries = {"UZ", "KZ", "CN"};

class FederationPropertyTest : public FederationFixture {
 protected:
  void Run(uint64_t seed, int steps);

  // Set-up: three nodes, random first policies, all linked.
  void SetUpFederation();
  // One random operation; appends a line to the step log.
  void Step(int i);

  // The operations.
  void OpSubmit(int i, bool update);
  void OpRevoke(int i);
  void OpPolicy(int i);
  void OpStop(int i);
  void OpStart(int i);
  void OpWait(int i);
  void OpSettle(int i);

  // Reads `id` back at its origin and records the revision in the model;
  // returns it ("" on failure).
  std::string ReadBack(int origin, const std::string& id);
  Scope RandomScope();
  Protected RandomProtected();
  // Writes node `n`'s policy version `v` (all files) without reloading.
  void WritePolicies(int n, const PolicyVersion& v);
  void Log(const std::string& line);

  // End of the run: everything started, settled, quiet.
  void Quiesce();
  bool AllSettled(std::chrono::seconds timeout);
  std::vector<int64_t> LogSeqs();

  // The checks (a)-(d); each appends to violations_.
  void ReadAudits();
  void CheckAuditedSends();
  void CheckHoldings();
  void CheckHolders();
  void CheckChains();
  void Violation(const std::string& what);
  void ReportIfFailed();

  // Helpers for the checks.
  json Show(int n, const std::string& id);
  std::vector<std::string> IdsAt(int n);
  // The last record `sender` audited sending `receiver` of `id` before
  // audit seq `before`, with a lower revision; null if none.
  const AuditedSend* LastSendBefore(int sender, int receiver,
                                    const std::string& id, uint32_t revision,
                                    uint64_t before);
  // The send that brought `node` this exact record; null if none.
  const AuditedSend* ReceivedBy(int node, const std::string& id,
                                uint32_t revision, uint32_t variant);
  // What `s` carried, as the receiver shows it; nullopt when the audit
  // logs do not say (the check that needs it reports that).
  std::optional<Content> SentContent(const AuditedSend& s, int depth = 0);

  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& PickOf(const std::vector<T>& v) {
    return v[static_cast<size_t>(Pick(static_cast<int>(v.size())))];
  }
  int PickWeighted(const std::vector<int>& weights) {
    return std::discrete_distribution<int>(weights.begin(),
                                           weights.end())(rng_);
  }

  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  std::vector<FedNode*> n_;
  std::vector<bool> up_;
  bool has_replace_ = false;
  bool line_ = false;  // UZ and CN do not link (see SetUpFederation)
  bool Linked(int a, int b) const {
    return !(line_ && ((a == 0 && b == 2) || (a == 2 && b == 0)));
  }
  std::vector<std::vector<PolicyVersion>> policies_;  // per node
  std::map<std::string, IndicatorModel> indicators_;  // by id
  // Ids in the order they were made: the random picks go by this order,
  // not by id (keys, and so ids, differ in every run of one seed).
  std::vector<std::string> made_;
  std::vector<std::string> log_;
  std::vector<AuditedSend> sends_;
  std::set<std::tuple<int, int, std::string, uint32_t, uint32_t>> sent_keys_;
  std::vector<std::string> violations_;
  std::vector<std::string> notes_;
  int steps_ = 0;
};

// ---- Set-up and operations ----

std::string ValueOf(std::mt19937_64& rng, const std::string& type) {
  auto pick = [&](int n) {
    return std::uniform_int_distribution<int>(0, n - 1)(rng);
  };
  // Small pools, so values repeat (updates across origins) and some land
  // inside the protected candidates below.
  auto domain = [&]() -> std::string {
    switch (pick(6)) {
      case 0:
        return "gov.uz";
      case 1:
        return "mail.gov.uz";
      case 2:
        return "portal.gov.kz";
      case 3:
        return "n" + std::to_string(pick(4)) + ".gov.cn";
      default:
        return "d" + std::to_string(pick(12)) + ".fedprop.example";
    }
  };
  auto ip = [&]() -> std::string {
    switch (pick(5)) {
      case 0:
        return "195.158." + std::to_string(pick(3)) + ".7";
      case 1:
        return "2.135.9." + std::to_string(pick(4) + 1);
      case 2:
        return "159.226.0." + std::to_string(pick(4) + 1);
      default:
        return "198.51.100." + std::to_string(pick(16) + 1);
    }
  };
  if (type == "domain") return domain();
  if (type == "ipv4") return ip();
  return "http://" + (pick(3) == 0 ? ip() : domain()) + "/p" +
         std::to_string(pick(3));
}

Scope FederationPropertyTest::RandomScope() {
  Scope s;
  s.share = Chance(0.85);
  s.max_tlp = kTlpNames[static_cast<size_t>(PickWeighted({15, 35, 35, 15}))];
  if (Chance(0.25)) {
    for (const auto& t : kTypes) {
      if (Chance(0.6)) s.types.insert(t);
    }
    if (s.types.empty()) s.types.insert(PickOf(kTypes));
  }
  s.min_confidence =
      std::vector<int>{0, 0, 30, 60}[static_cast<size_t>(Pick(4))];
  if (Chance(0.5)) s.exclude_tags.insert("internal");
  if (Chance(0.1)) s.require_tags.insert("ca-track");
  if (Chance(0.4)) s.redact.insert("description");
  if (Chance(0.2)) s.redact.insert("tags");
  s.reshare = PickWeighted({15, 25, 60});
  return s;
}

Protected FederationPropertyTest::RandomProtected() {
  Protected p;
  for (const char* c : {"195.158.0.0/16", "2.135.0.0/16", "159.226.0.0/16",
                        "198.51.100.0/28"}) {
    if (Chance(0.15)) p.cidrs.insert(c);
  }
  for (const char* d :
       {"gov.uz", "mail.gov.uz", "gov.kz", "gov.cn", "d1.fedprop.example"}) {
    if (Chance(0.15)) p.suffixes.insert(d);
  }
  return p;
}

void FederationPropertyTest::WritePolicies(int n, const PolicyVersion& v) {
  for (const auto& [country, scope] : v.scopes) {
    std::string file = country;
    for (auto& c : file) c = static_cast<char>(std::tolower(c));
    n_[n]->WritePolicy(file + ".toml", scope.Toml(country));
  }
  const auto path = n_[n]->node().dir() / "policies" / "protected.toml";
  const std::string prot = v.prot.Toml();
  if (prot.empty()) {
    std::filesystem::remove(path);
  } else {
    WriteFile(path, prot);
  }
}

void FederationPropertyTest::Log(const std::string& line) {
  log_.push_back(line);
}

void FederationPropertyTest::SetUpFederation() {
  for (size_t i = 0; i < kNames.size(); ++i) {
    n_.push_back(&Make(kNames[i], kCountries[i]));
  }
  for (FedNode* n : n_) ASSERT_TRUE(n->ok()) << n->why();
  policies_.resize(n_.size());
  for (int n = 0; n < static_cast<int>(n_.size()); ++n) {
    PolicyVersion v;
    v.number = 0;
    for (int p = 0; p < static_cast<int>(n_.size()); ++p) {
      if (p != n) v.scopes[kCountries[p]] = RandomScope();
    }
    v.prot = RandomProtected();
    WritePolicies(n, v);
    policies_[n].push_back(v);
    for (const auto& [c, s] : v.scopes) {
      Log("init " + kCountries[n] + " -> " + c + ": " + s.Text());
    }
    Log("init " + kCountries[n] + " " + v.prot.Text());
  }
  ASSERT_NO_FATAL_FAILURE(StartAll());
  up_.assign(n_.size(), true);
  // Half the seeds link all three; the other half only UZ-KZ-CN (UZ and CN
  // know each other's keys but do not link), so everything between UZ and
  // CN is relayed by KZ.
  line_ = Chance(0.5);
  Connect(*n_[0], *n_[1]);
  Connect(*n_[1], *n_[2]);
  if (line_) {
    AddPeer(*n_[2], *n_[0], /*dial=*/false);
    AddPeer(*n_[0], *n_[2], /*dial=*/false);
  } else {
    Connect(*n_[2], *n_[0]);
  }
  const std::string topology =
      line_ ? "UZ-KZ-CN (UZ and CN do not link)" : "triangle";
  Log("topology: " + topology);
  notes_.push_back("topology: " + topology);
  // Updates may replace instead of merge where the CLI offers it.
  CommandResult help = n_[0]->Cli({"submit", "--help"});
  has_replace_ = help.out.find("--replace") != std::string::npos;
}

std::string FederationPropertyTest::ReadBack(int origin,
                                             const std::string& id) {
  json doc = Show(origin, id);
  if (doc.is_null()) {
    Violation("the origin " + kNames[origin] + " cannot show " + id +
              " right after changing it");
    return "";
  }
  const json& ind = doc["indicator"];
  const uint32_t rev = ind["revision"].get<uint32_t>();
  if (!indicators_.count(id)) made_.push_back(id);
  IndicatorModel& m = indicators_[id];
  m.origin = origin;
  m.type = ind["type"];
  m.value = ind["value"];
  const Content c = ContentFromJson(ind);
  auto [it, added] = m.revisions.emplace(rev, c);
  if (!added && !Differences(it->second, c, true).empty()) {
    Violation("revision " + std::to_string(rev) + " of " + id + " at " +
              kNames[origin] + " changed without a new revision:" +
              Differences(it->second, c, true));
  }
  m.created.emplace(rev, ParseTime(ind["created"]));
  return "rev " + std::to_string(rev) + " {" + c.Text() + "}";
}

void FederationPropertyTest::OpSubmit(int i, bool update) {
  std::string type, value;
  int origin = 0;
  if (update) {
    std::vector<std::string> ids;
    for (const auto& id : made_) {
      if (up_[indicators_[id].origin]) ids.push_back(id);
    }
    if (ids.empty()) return OpWait(i);
    const IndicatorModel& m = indicators_[PickOf(ids)];
    origin = m.origin;
    type = m.type;
    value = m.value;
  } else {
    origin = PickWeighted({70, 10, 20});
    if (!up_[origin]) return OpWait(i);
    type = PickOf(kTypes);
    value = ValueOf(rng_, type);
  }
  std::vector<std::string> args = {"submit", type, value};
  const std::string tlp =
      kTlpNames[static_cast<size_t>(PickWeighted({15, 40, 25, 8, 12}))];
  args.insert(args.end(),
              {"--tlp", tlp, "--confidence",
               std::to_string(PickOf(std::vector<int>{10, 40, 70, 95}))});
  for (const auto& t : kTags) {
    if (Chance(0.3)) args.insert(args.end(), {"--tag", t});
  }
  if (Chance(0.6)) {
    args.insert(args.end(),
                {"--description", "note " + std::to_string(Pick(1000))});
  }
  args.insert(args.end(),
              {"--reshare",
               kReshareNames[static_cast<size_t>(PickWeighted({15, 25, 60}))]});
  if (update && has_replace_ && Chance(0.5)) args.push_back("--replace");
  CommandResult r = n_[origin]->Cli(args);
  std::string line = "[" + std::to_string(i) + "] " + kCountries[origin] + " " +
                     (update ? "update" : "submit");
  for (size_t k = 1; k < args.size(); ++k) line += " " + args[k];
  if (r.exit_code != 0 && r.err.find("is revoked") != std::string::npos) {
    // Reviving a revoked value takes --replace (docs/policy.md).
    Log(line + " -> refused: revoked");
    return;
  }
  if (r.exit_code != 0) {
    Log(line + " -> FAILED " + r.Describe());
    ADD_FAILURE() << line << ": " << r.Describe();
    return;
  }
  std::string id = r.out.substr(0, r.out.find_first_of("\n\t "));
  Log(line + " -> " + id.substr(0, 12) + " " + ReadBack(origin, id));
}

void FederationPropertyTest::OpRevoke(int i) {
  std::vector<std::string> ids;
  for (const auto& id : made_) {
    const IndicatorModel& m = indicators_[id];
    if (up_[m.origin] && !m.revisions.rbegin()->second.revoked) {
      ids.push_back(id);
    }
  }
  if (ids.empty()) return OpWait(i);
  const std::string id = PickOf(ids);
  const int origin = indicators_[id].origin;
  CommandResult r = n_[origin]->Cli(
      {"revoke", id, "--reason", "fedprop step " + std::to_string(i)});
  std::string line = "[" + std::to_string(i) + "] " + kCountries[origin] +
                     " revoke " + id.substr(0, 12) + " (" +
                     indicators_[id].value + ")";
  if (r.exit_code != 0) {
    Log(line + " -> FAILED " + r.Describe());
    ADD_FAILURE() << line << ": " << r.Describe();
    return;
  }
  Log(line + " -> " + ReadBack(origin, id));
}

void FederationPropertyTest::OpPolicy(int i) {
  std::vector<int> running;
  for (int n = 0; n < static_cast<int>(n_.size()); ++n) {
    if (up_[n]) running.push_back(n);
  }
  if (running.empty()) return OpWait(i);
  const int n = PickOf(running);
  PolicyVersion v = policies_[n].back();
  v.number += 1;
  std::string what;
  if (Chance(0.3)) {
    v.prot = RandomProtected();
    what = v.prot.Text();
  } else {
    std::vector<std::string> others;
    for (const auto& [c, s] : v.scopes) others.push_back(c);
    const std::string country = PickOf(others);
    v.scopes[country] = RandomScope();
    what = "-> " + country + ": " + v.scopes[country].Text();
  }
  WritePolicies(n, v);
  // In force from before the reload began; the old one until it ended.
  v.from = Now();
  CommandResult r = n_[n]->Cli({"policy", "reload"});
  policies_[n].back().to = Now() + 1;
  policies_[n].push_back(v);
  const std::string line = "[" + std::to_string(i) + "] " + kCountries[n] +
                           " policy v" + std::to_string(v.number) + " " + what;
  if (r.exit_code != 0) {
    Log(line + " -> reload FAILED " + r.Describe());
    ADD_FAILURE() << line << ": " << r.Describe();
    return;
  }
  Log(line);
}

void FederationPropertyTest::OpStop(int i) {
  std::vector<int> running;
  for (int n = 0; n < static_cast<int>(n_.size()); ++n) {
    if (up_[n]) running.push_back(n);
  }
  // At most two of three down, so something is still moving.
  if (running.size() <= 1) return OpStart(i);
  const int n = PickOf(running);
  const bool kill = Chance(0.25);
  std::string line = "[" + std::to_string(i) + "] " + kCountries[n] +
                     (kill ? " kill -9" : " stop");
  if (kill) {
    n_[n]->Kill();
  } else {
    const int status = n_[n]->Stop();
    EXPECT_EQ(status, 0) << line << "\n" << n_[n]->node().LogText();
  }
  up_[n] = false;
  Log(line);
}

void FederationPropertyTest::OpStart(int i) {
  std::vector<int> stopped;
  for (int n = 0; n < static_cast<int>(n_.size()); ++n) {
    if (!up_[n]) stopped.push_back(n);
  }
  if (stopped.empty()) return OpWait(i);
  const int n = PickOf(stopped);
  std::string why;
  const bool started = n_[n]->Start(&why);
  ASSERT_TRUE(started) << kNames[n] << ": " << why;
  up_[n] = true;
  Log("[" + std::to_string(i) + "] " + kCountries[n] + " start");
}

void FederationPropertyTest::OpWait(int i) {
  const int ms = 100 + Pick(1400);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  Log("[" + std::to_string(i) + "] wait " + std::to_string(ms) + " ms");
}

void FederationPropertyTest::OpSettle(int i) {
  const int a = Pick(3), b = (a + 1 + Pick(2)) % 3;
  if (!up_[a] || !up_[b] || !Linked(a, b)) return OpWait(i);
  const bool ok = WaitFor([&] { return n_[a]->Settled(kNames[b]); },
                          std::chrono::seconds(kSanitized ? 60 : 20));
  Log("[" + std::to_string(i) + "] settle " + kCountries[a] + " -> " +
      kCountries[b] + (ok ? "" : " (not within the bound)"));
}

void FederationPropertyTest::Step(int i) {
  switch (PickWeighted({30, 22, 6, 10, 5, 10, 8, 9})) {
    case 0:
      return OpSubmit(i, false);
    case 1:
      return OpSubmit(i, true);
    case 2:
      return OpRevoke(i);
    case 3:
      return OpPolicy(i);
    case 4:
      return OpStop(i);
    case 5:
      return OpStart(i);
    case 6:
      return OpWait(i);
    default:
      return OpSettle(i);
  }
}

// ---- End of the run ----

std::vector<int64_t> FederationPropertyTest::LogSeqs() {
  std::vector<int64_t> out;
  for (FedNode* n : n_) out.push_back(n->LogSeq());
  return out;
}

bool FederationPropertyTest::AllSettled(std::chrono::seconds timeout) {
  for (int a = 0; a < 3; ++a) {
    for (int b = 0; b < 3; ++b) {
      if (a == b || !Linked(a, b)) continue;
      if (!WaitFor([&] { return n_[a]->Settled(kNames[b]); }, timeout)) {
        // The daemons' own account is what explains a stall: keep the end
        // of both logs in the failure (their directories are removed).
        auto tail = [](const std::string& log) {
          size_t at = log.size();
          for (int lines = 0; lines < 80 && at > 0; ++lines) {
            at = log.rfind('\n', at - 1);
            if (at == std::string::npos) return log;
          }
          return log.substr(at + 1);
        };
        ADD_FAILURE() << kNames[a] << " -> " << kNames[b] << " did not settle: "
                      << n_[a]->PeerState(kNames[b]).dump() << "\n--- "
                      << kNames[a] << " log (end) ---\n"
                      << tail(n_[a]->node().LogText()) << "\n--- "
                      << kNames[b] << " log (end) ---\n"
                      << tail(n_[b]->node().LogText());
        return false;
      }
    }
  }
  return true;
}

void FederationPropertyTest::Quiesce() {
  for (int n = 0; n < 3; ++n) {
    if (up_[n]) continue;
    std::string why;
    ASSERT_TRUE(n_[n]->Start(&why)) << kNames[n] << ": " << why;
    up_[n] = true;
    Log("[end] " + kCountries[n] + " start");
  }
  // Settled means acknowledged up to the log's end; re-decisions of
  // withheld records (a revision superseded in flight) run every 5 s
  // (sync_engine.cc kRecheckInterval) and a relay forwards what it just
  // stored, so wait past one re-check and settle again until nothing moves.
  std::vector<int64_t> before;
  for (int round = 0; round < 6; ++round) {
    ASSERT_TRUE(AllSettled(kSyncTimeout));
    std::this_thread::sleep_for(std::chrono::seconds(6));
    ASSERT_TRUE(AllSettled(kSyncTimeout));
    std::vector<int64_t> after = LogSeqs();
    if (after == before) return;
    before = after;
  }
  ADD_FAILURE() << "the federation did not go quiet in 6 rounds";
}

json FederationPropertyTest::Show(int n, const std::string& id) {
  CommandResult r = n_[n]->Cli({"--json", "show", id});
  if (r.exit_code == 3) return nullptr;
  auto doc = json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || doc.is_discarded()) {
    ADD_FAILURE() << "show " << id << " at " << kNames[n] << ": "
                  << r.Describe();
    return nullptr;
  }
  return doc;
}

std::vector<std::string> FederationPropertyTest::IdsAt(int n) {
  CommandResult r =
      n_[n]->Cli({"export", "--format", "csv", "--include-revoked"});
  EXPECT_EQ(r.exit_code, 0)
      << "export at " << kNames[n] << ": " << r.Describe();
  std::vector<std::string> ids;
  std::istringstream in(r.out);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (!line.empty()) ids.push_back(line.substr(line.rfind(',') + 1));
  }
  return ids;
}

void FederationPropertyTest::Violation(const std::string& what) {
  violations_.push_back(what);
}

void FederationPropertyTest::ReadAudits() {
  for (int s = 0; s < 3; ++s) {
    // The whole log (the CLI pages through it), not Audit()'s capped read.
    json doc = n_[s]->CliJson({"audit"});
    ASSERT_FALSE(doc.is_null());
    for (const auto& e : doc["entries"]) {
      const std::string action = e.value("action", "");
      if (action != "share" && action != "withdraw") continue;
      const std::string peer =
          e["peer"].is_string() ? e["peer"].get<std::string>() : "";
      const int receiver = Rank(kNames, peer);
      if (receiver < 0) {
        Violation(kNames[s] + " audited a " + action + " to unknown peer '" +
                  peer + "': " + e.dump());
        continue;
      }
      for (const auto& rec : e["detail"]["records"]) {
        AuditedSend a;
        a.sender = s;
        a.receiver = receiver;
        a.action = action;
        a.id = rec["id"];
        a.revision = rec["revision"].get<uint32_t>();
        a.variant = rec["variant"].get<uint32_t>();
        a.time = ParseTime(e["time"]);
        a.audit_seq = e["seq"].get<uint64_t>();
        a.rule = e["detail"]["rule"].dump();
        sends_.push_back(a);
        sent_keys_.insert({s, receiver, a.id, a.revision, a.variant});
      }
    }
  }
}

const AuditedSend* FederationPropertyTest::LastSendBefore(int sender,
                                                          int receiver,
                                                          const std::string& id,
                                                          uint32_t revision,
                                                          uint64_t before) {
  const AuditedSend* last = nullptr;
  for (const auto& s : sends_) {
    if (s.sender == sender && s.receiver == receiver && s.id == id &&
        s.revision < revision && s.audit_seq <= before &&
        (last == nullptr || s.revision >= last->revision)) {
      last = &s;
    }
  }
  return last;
}

const AuditedSend* FederationPropertyTest::ReceivedBy(int node,
                                                      const std::string& id,
                                                      uint32_t revision,
                                                      uint32_t variant) {
  for (const auto& s : sends_) {
    if (s.receiver == node && s.id == id && s.revision == revision &&
        s.variant == variant) {
      return &s;
    }
  }
  return nullptr;
}

std::optional<Content> FederationPropertyTest::SentContent(const AuditedSend& s,
                                                           int depth) {
  auto it = indicators_.find(s.id);
  if (it == indicators_.end()) return std::nullopt;
  const IndicatorModel& m = it->second;
  if (depth > 8) return std::nullopt;  // no record travels that far here
  if (s.variant == kWithdrawalVariant && s.sender != m.origin) {
    // A relay forwards the withdrawal it was sent, unchanged.
    const AuditedSend* in = ReceivedBy(s.sender, s.id, s.revision, s.variant);
    if (in == nullptr) return std::nullopt;
    return SentContent(*in, depth + 1);
  }
  if (s.variant == kWithdrawalVariant) {
    const AuditedSend* had =
        LastSendBefore(s.sender, s.receiver, s.id, s.revision, s.audit_seq);
    if (had == nullptr) return std::nullopt;
    auto prev = SentContent(*had, depth + 1);
    if (!prev) return std::nullopt;
    return WithdrawalOf(*prev);
  }
  auto rev = m.revisions.find(s.revision);
  if (rev == m.revisions.end()) return std::nullopt;
  return ApplyVariant(rev->second, s.variant);
}

// (a), (b): every audited send against the sender's policy history.
void FederationPropertyTest::CheckAuditedSends() {
  int relayed = 0;
  for (const auto& s : sends_) {
    const std::string what =
        kNames[s.sender] + " " + s.action + " to " + kNames[s.receiver] +
        " of " + s.id.substr(0, 12) + " rev " + std::to_string(s.revision) +
        " variant " + std::to_string(s.variant) + " at audit seq " +
        std::to_string(s.audit_seq) + " (rule " + s.rule + ")";
    auto it = indicators_.find(s.id);
    if (it == indicators_.end()) {
      Violation(what + ": an indicator no origin made in this run");
      continue;
    }
    const IndicatorModel& m = it->second;
    auto rev = m.revisions.find(s.revision);
    if (rev == m.revisions.end()) {
      Violation(what + ": a revision its origin never stored");
      continue;
    }
    const bool relay = m.origin != s.sender;
    relayed += relay ? 1 : 0;
    if (s.receiver == m.origin) {
      Violation(what + ": sent back to the record's origin");
    }
    const bool withdrawal = s.variant == kWithdrawalVariant;
    if (s.action == "withdraw" && (relay || !withdrawal)) {
      Violation(what + ": a withdraw entry by a relay or not variant 65536");
      continue;
    }
    if (withdrawal && !relay) {
      if (s.action != "withdraw") {
        Violation(what + ": the origin's withdrawal audited as " + s.action);
      }
      if (LastSendBefore(s.sender, s.receiver, s.id, s.revision, s.audit_seq) ==
          nullptr) {
        Violation(what + ": a withdrawal to a peer that held nothing");
      }
      continue;
    }
    const Content& full = rev->second;
    // The sender holds the origin's record (variant 0) or, as a relay, the
    // variant it was sent (and forwards unchanged); a relay forwarding a
    // withdrawal holds the withdrawal its sender built.
    std::optional<Content> relayed;
    if (relay) {
      const AuditedSend* in = ReceivedBy(s.sender, s.id, s.revision, s.variant);
      if (in == nullptr) {
        Violation(what +
                  ": a relay forwarded a record no audit log says "
                  "it received");
        continue;
      }
      relayed = SentContent(*in);
    }
    if (relay && !relayed) {
      Violation(what + ": the relayed record's content is not known");
      continue;
    }
    const Content held = relay ? *relayed : full;
    // When it could have been decided: from the revision's creation to the
    // audit entry (written at the acknowledgement). The origin decides only
    // current revisions, so never after the next revision was created.
    const int64_t lo = m.created.at(s.revision) - 1;
    int64_t hi = s.time + 1;
    auto next = m.created.upper_bound(s.revision);
    if (!relay && next != m.created.end()) hi = std::min(hi, next->second + 1);
    std::vector<std::string> why;
    bool allowed = false;
    for (const auto& v : policies_[s.sender]) {
      if (v.from > hi || v.to < lo) continue;
      std::string w;
      if (held.revoked) {
        // A revocation reaches holders whatever the policy says; what it
        // may not do is tell a holder more than it had, unless the policy
        // would have let that content go (share_decision.h).
        const AuditedSend* had =
            LastSendBefore(s.sender, s.receiver, s.id, s.revision, s.audit_seq);
        if (had == nullptr) {
          w = "a revocation to a peer that held nothing";
        } else {
          auto prev = SentContent(*had);
          Content live = held;
          live.revoked = false;
          w = WhyNotShared(v, kCountries[s.receiver], live, relay,
                           withdrawal ? 0 : s.variant, /*holder=*/true);
          const Content sent = relay ? held : ApplyVariant(held, s.variant);
          if (!w.empty() && prev) {
            Content prev_live = *prev;
            prev_live.revoked = false;
            Content sent_live = sent;
            sent_live.revoked = false;
            const std::string d = Differences(prev_live, sent_live, false);
            if (d.empty())
              w.clear();
            else
              w = "revocation reveals what the holder never had (" + d +
                  ") though " + w;
          }
        }
      } else {
        w = WhyNotShared(v, kCountries[s.receiver], held, relay, s.variant);
      }
      if (w.empty()) {
        allowed = true;
        break;
      }
      why.push_back("v" + std::to_string(v.number) + ": " + w);
    }
    if (!allowed) {
      std::string text =
          what + " {" + (relay ? held : ApplyVariant(held, s.variant)).Text() +
          "} allowed by no policy version in force between " +
          std::to_string(lo) + " and " + std::to_string(hi) + ":";
      for (const auto& w : why) text += " [" + w + "]";
      Violation(text);
    }
  }
  notes_.push_back(std::to_string(relayed) + " of " +
                   std::to_string(sends_.size()) + " audited sends relayed");
}

// (a), (b), (d) at the receivers: every held revision verifies and is
// covered by an audited send from the node it came from; the current view
// shows exactly what that send carried.
void FederationPropertyTest::CheckHoldings() {
  for (int r = 0; r < 3; ++r) {
    for (const std::string& id : IdsAt(r)) {
      json doc = Show(r, id);
      if (doc.is_null()) {
        Violation(kNames[r] + " exports " + id + " but cannot show it");
        continue;
      }
      auto it = indicators_.find(id);
      if (it == indicators_.end()) {
        Violation(kNames[r] + " holds " + id +
                  ", which no origin made in this run: " + doc.dump());
        continue;
      }
      const IndicatorModel& m = it->second;
      for (const auto& rev : doc["revisions"]) {
        const uint32_t revision = rev["revision"].get<uint32_t>();
        const uint32_t variant = rev["variant"].get<uint32_t>();
        const std::string what = kNames[r] + " holds " + id.substr(0, 12) +
                                 " (" + m.value + ") rev " +
                                 std::to_string(revision) + " variant " +
                                 std::to_string(variant);
        if (rev["verified"] != true) Violation(what + " that does not verify");
        if (rev["received_from"].is_null()) {
          if (r != m.origin) Violation(what + " as its own, but it is not");
          continue;
        }
        const int from = Rank(kNames, rev["received_from"].get<std::string>());
        if (from < 0 || !sent_keys_.count({from, r, id, revision, variant})) {
          Violation(what + " from " + rev["received_from"].dump() +
                    ", whose audit log never shared it");
        }
      }
      if (r == m.origin) continue;
      // The current view against what its send carried.
      const json& cur = doc["indicator"];
      const uint32_t revision = cur["revision"].get<uint32_t>();
      const uint32_t variant = cur["variant"].get<uint32_t>();
      if (!cur["received_from"].is_string()) continue;
      const int from = Rank(kNames, cur["received_from"].get<std::string>());
      for (const auto& s : sends_) {
        if (s.sender != from || s.receiver != r || s.id != id ||
            s.revision != revision || s.variant != variant) {
          continue;
        }
        auto want = SentContent(s);
        if (!want) break;
        const Content got = ContentFromJson(cur);
        if (!Differences(*want, got, true).empty()) {
          Violation(kNames[r] + " shows " + id.substr(0, 12) + " (" + m.value +
                    ") rev " + std::to_string(revision) + " variant " +
                    std::to_string(variant) + " unlike what " + kNames[from] +
                    (variant == kWithdrawalVariant
                         ? " withdrew (the fields the holder had):"
                         : " signed, with that variant's redactions:") +
                    Differences(*want, got, true));
        }
        break;
      }
    }
  }
}

// (c): every direct holder of an origin's indicator holds its current
// revision, a withdrawal, or (if the current revision is a revocation) that
// revocation.
void FederationPropertyTest::CheckHolders() {
  int relayed_only = 0;
  for (const auto& [id, m] : indicators_) {
    json at_origin = Show(m.origin, id);
    if (at_origin.is_null()) {
      Violation(kNames[m.origin] + " lost its own " + id);
      continue;
    }
    const uint32_t current = at_origin["indicator"]["revision"];
    const bool revoked = at_origin["indicator"]["revoked"];
    for (int p = 0; p < 3; ++p) {
      if (p == m.origin) continue;
      bool direct = false;
      for (const auto& s : sends_) {
        direct =
            direct || (s.sender == m.origin && s.receiver == p && s.id == id);
      }
      json doc = Show(p, id);
      if (!direct) {
        relayed_only += doc.is_null() ? 0 : 1;
        continue;
      }
      const std::string what = kNames[p] + ", a direct holder of " +
                               id.substr(0, 12) + " (" + m.value + ")";
      if (doc.is_null()) {
        Violation(what + ", holds nothing of it (lost)");
        continue;
      }
      const json& cur = doc["indicator"];
      const uint32_t held = cur["revision"];
      const bool held_revoked = cur["revoked"];
      const std::string state =
          " holds rev " + std::to_string(held) + " variant " +
          cur["variant"].dump() + (held_revoked ? " (revoked)" : "") +
          " while the origin's current is rev " + std::to_string(current) +
          (revoked ? " (a revocation)" : "");
      if (revoked && !held_revoked) {
        Violation(what + state +
                  ": neither the revocation nor a withdrawal "
                  "reached it");
      } else if (!revoked && held != current && !held_revoked) {
        Violation(what + state + ": a stale live revision");
      } else if (held > current) {
        Violation(what + state + ": a revision the origin never made");
      }
    }
  }
  notes_.push_back(std::to_string(relayed_only) +
                   " copies held only through a relay (not checked for (c): "
                   "a relay sends nothing when the current revision may not "
                   "go)");
}

void FederationPropertyTest::CheckChains() {
  for (int n = 0; n < 3; ++n) {
    if (!n_[n]->AuditVerifies()) {
      Violation(kNames[n] + ": `caravan audit verify` fails");
    }
  }
}

void FederationPropertyTest::ReportIfFailed() {
  std::ostringstream out;
  out << "fedprop seed " << seed_ << ", " << steps_ << " steps\n";
  for (const auto& n : notes_) out << "note: " << n << "\n";
  const bool failed = !violations_.empty() || HasFailure();
  if (!failed && EnvNumber("CARAVAN_FEDPROP_VERBOSE", 0) == 0) {
    std::cerr << out.str();
    return;
  }
  out << "---- steps ----\n";
  for (const auto& l : log_) out << l << "\n";
  out << "---- policy history ----\n";
  for (int n = 0; n < 3; ++n) {
    for (const auto& v : policies_[n]) {
      out << kCountries[n] << " v" << v.number << " [" << v.from << ", "
          << (v.to == kForever ? std::string("end") : std::to_string(v.to))
          << "]: " << v.prot.Text();
      for (const auto& [c, s] : v.scopes) out << "; " << c << ": " << s.Text();
      out << "\n";
    }
  }
  out << "---- indicators ----\n";
  for (const auto& [id, m] : indicators_) {
    for (const auto& [rev, c] : m.revisions) {
      out << id.substr(0, 12) << " " << kCountries[m.origin] << " rev " << rev
          << " created " << m.created.at(rev) << ": " << c.Text() << "\n";
    }
  }
  out << "---- " << violations_.size() << " violations ----\n";
  for (const auto& v : violations_) out << "VIOLATION: " << v << "\n";
  if (!failed) {
    std::cerr << out.str();
    return;
  }
  ADD_FAILURE() << "FEDPROP FAILED with CARAVAN_FEDPROP_SEED=" << seed_
                << " CARAVAN_FEDPROP_STEPS=" << steps_ << "\n"
                << out.str();
}

void FederationPropertyTest::Run(uint64_t seed, int steps) {
  seed_ = seed;
  steps_ = steps;
  rng_.seed(seed);
  ASSERT_NO_FATAL_FAILURE(SetUpFederation());
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps && !HasFatalFailure(); ++i) Step(i);
  if (!HasFatalFailure()) Quiesce();
  if (!HasFatalFailure()) {
    ReadAudits();
    CheckAuditedSends();
    CheckHoldings();
    CheckHolders();
    CheckChains();
  }
  notes_.push_back(
      std::to_string(steps) + " steps, " + std::to_string(indicators_.size()) +
      " indicators, " + std::to_string(sends_.size()) + " audited sends, " +
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::steady_clock::now() - start)
                         .count()) +
      " s");
  ReportIfFailed();
}

TEST_F(FederationPropertyTest, RandomOperationsKeepSovereignty) {
  const uint64_t seed = EnvNumber("CARAVAN_FEDPROP_SEED", kDefaultSeed);
  const int steps = static_cast<int>(std::min<uint64_t>(
      EnvNumber("CARAVAN_FEDPROP_STEPS", kDefaultSteps), kMaxSteps));
  Run(seed, steps);
}

// Regression (found by the property test, seed 20261205, 60 steps;
// minimized by hand to three operations): KZ holds a green revision; the
// origin raises it to TLP:RED with a description (KZ gets a withdrawal that
// carries only what it had); then the origin revokes it. The revocation is
// the origin's current record plus `revoked`, and it used to reach KZ with
// TLP:RED, the new confidence and the red revision's description, which
// the policy never let go (fixed in 1161b18).
class FederationPropertyFindingTest : public FederationFixture {};

TEST_F(FederationPropertyFindingTest, RevocationRevealsWithheldRevision) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& kz = Make("CERT-KZ", "KZ");
  uz.ShareWith("KZ", "amber");
  ASSERT_NO_FATAL_FAILURE(StartAllAndConnect(uz, kz));
  CommandResult r = uz.Cli({"submit", "domain", "leak.example", "--tlp",
                            "green", "--confidence", "70"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const std::string id = r.out.substr(0, r.out.find('\n'));
  ASSERT_TRUE(WaitFor([&] { return uz.Settled("CERT-KZ"); }));
  ASSERT_EQ(kz.Lookup("leak.example")["tlp"], "green");
  r = uz.Cli({"submit", "domain", "leak.example", "--tlp", "red",
              "--confidence", "10", "--description", "informant in ministry",
              "--replace"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  ASSERT_EQ(uz.Lookup("leak.example")["tlp"], "red");
  ASSERT_TRUE(WaitFor([&] {
    return kz.Lookup("leak.example")["revoked"] == true;
  })) << "no withdrawal: "
      << kz.Lookup("leak.example").dump();
  json withdrawal = kz.Lookup("leak.example");
  EXPECT_EQ(withdrawal["tlp"], "green") << withdrawal.dump();
  EXPECT_EQ(withdrawal["variant"], 65536) << withdrawal.dump();

  r = uz.Cli({"revoke", id, "--reason", "false positive"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  ASSERT_TRUE(WaitFor([&] { return uz.Settled("CERT-KZ"); }));
  // KZ holds a retraction either way (the withdrawal, or a revocation in
  // the form KZ may see); never the red revision's fields.
  json now = kz.Lookup("leak.example");
  EXPECT_EQ(now["revoked"], true) << now.dump();
  EXPECT_EQ(now["tlp"], "green") << now.dump();
  EXPECT_EQ(now["confidence"], 70) << now.dump();
  EXPECT_EQ(now["description"], "") << now.dump();
}

// Regression (found by the property test, seed 3, 60 steps; minimized by
// hand to two operations): KZ's scope lowers reshare to direct, so KZ
// holds a variant saying direct. When the value went red, the withdrawal
// was built from the origin's full record and said federation, more than
// KZ was ever given (fixed in 1161b18).
TEST_F(FederationPropertyFindingTest, WithdrawalKeepsTheHoldersReshare) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& kz = Make("CERT-KZ", "KZ");
  uz.ShareWith("KZ", "amber", "reshare = \"direct\"\n");
  ASSERT_NO_FATAL_FAILURE(StartAllAndConnect(uz, kz));
  CommandResult r = uz.Cli({"submit", "domain", "reshare.example", "--tlp",
                            "green", "--reshare", "federation"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  ASSERT_TRUE(WaitFor([&] { return uz.Settled("CERT-KZ"); }));
  ASSERT_EQ(kz.Lookup("reshare.example")["reshare"], "direct");
  r = uz.Cli({"submit", "domain", "reshare.example", "--tlp", "red",
              "--reshare", "federation"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  ASSERT_TRUE(WaitFor([&] {
    return kz.Lookup("reshare.example")["revoked"] == true;
  })) << "no withdrawal: "
      << kz.Lookup("reshare.example").dump();
  json withdrawal = kz.Lookup("reshare.example");
  ASSERT_EQ(withdrawal["variant"], 65536) << withdrawal.dump();
  EXPECT_EQ(withdrawal["reshare"], "direct") << withdrawal.dump();
}

// Regression (found by scripts/fedprop, seed 406446285, 200 steps, UZ-KZ-CN
// line; minimized by hand): CN holds a federation revision of UZ's value
// (confidence 10) through KZ. UZ raises confidence to 95 with reshare
// direct (KZ holds it; it cannot be relayed), then amber+strict, which KZ
// may not see: UZ withdraws KZ's revision with a withdrawal carrying KZ's
// confidence 95. KZ used to relay that withdrawal to CN as a revocation,
// telling CN a confidence it was never given. Now it stays at KZ (the
// relay rules) and CN keeps what it had.
TEST_F(FederationPropertyFindingTest, RelayedWithdrawalTellsAnotherHolderNothingNew) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& kz = Make("CERT-KZ", "KZ");
  FedNode& cn = Make("CERT-CN", "CN");
  const std::string relaying =
      "reshare = \"federation\"\n[inbound]\naccept = true\naccept_relayed = true\n";
  uz.ShareWith("KZ", "amber", relaying);
  kz.ShareWith("CN", "amber", relaying);
  kz.ShareWith("UZ", "amber", relaying);
  cn.ShareWith("KZ", "amber", relaying);
  ASSERT_NO_FATAL_FAILURE(StartAll());
  Connect(uz, kz);
  Connect(kz, cn);
  AddPeer(cn, uz, /*dial=*/false);  // they know each other's keys, never link
  AddPeer(uz, cn, /*dial=*/false);
  const std::string value = "relay-leak.example";
  Submit(uz, {"domain", value, "--tlp", "green", "--confidence", "10", "--reshare",
              "federation"});
  ASSERT_TRUE(WaitFor([&] { return cn.Lookup(value)["confidence"] == 10; }))
      << "CN never got the relayed revision: " << cn.Lookup(value).dump();
  Submit(uz, {"domain", value, "--tlp", "green", "--confidence", "95", "--reshare",
              "direct", "--replace"});
  ASSERT_TRUE(WaitFor([&] { return kz.Lookup(value)["confidence"] == 95; }))
      << kz.Lookup(value).dump();
  Submit(uz, {"domain", value, "--tlp", "amber+strict", "--confidence", "95", "--reshare",
              "direct", "--replace"});
  ASSERT_TRUE(WaitFor([&] {
    const json k = kz.Lookup(value);
    return k["revoked"] == true && k["variant"] == 65536;
  })) << "no withdrawal at KZ: " << kz.Lookup(value).dump();
  ASSERT_NO_FATAL_FAILURE(WaitSettled(kz, cn));
  const json at_cn = cn.Lookup(value);
  EXPECT_EQ(at_cn["confidence"], 10) << at_cn.dump();
  EXPECT_NE(at_cn["revoked"], true) << at_cn.dump();
  // KZ says why, in its audit: the withdrawal would tell CN something new.
  bool withheld = false;
  for (const auto& e : kz.Audit(1000, "CERT-CN")) {
    withheld = withheld || (e["action"] == "withhold" &&
                            e.dump().find("content the peer never held") != std::string::npos);
  }
  EXPECT_TRUE(withheld);
}

// Found by the property test (seed 17220956, 200 steps; minimized by hand
// to submit-then-stop): CN submits a value UZ may have and is stopped
// (SIGTERM) right away. UZ commits the record and acknowledges it, but CN
// may shut down before recording the acknowledgement; after the restart
// UZ's Hello carries the acknowledged point. CN must then still record the
// delivery and its `share` audit entry (from unacked_pages), so that a
// later revocation reaches UZ. The race needs the stop inside a few
// milliseconds, so it is tried several times; every round must hold.
TEST_F(FederationPropertyFindingTest, StopRightAfterSendKeepsDeliveryAndAudit) {
  FedNode& cn = Make("CERT-CN", "CN");
  FedNode& uz = Make("CERT-UZ", "UZ");
  cn.ShareWith("UZ", "amber");
  ASSERT_NO_FATAL_FAILURE(StartAllAndConnect(cn, uz));
  std::vector<std::string> held;  // ids UZ received
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(WaitFor([&] { return cn.Settled("CERT-UZ"); }));
    const std::string value = "stop-" + std::to_string(i) + ".example";
    CommandResult r = cn.Cli({"submit", "domain", value, "--tlp", "green"});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    const std::string id = r.out.substr(0, r.out.find('\n'));
    ASSERT_EQ(cn.Stop(), 0) << cn.node().LogText();
    std::string why;
    ASSERT_TRUE(cn.Start(&why)) << why;
    ASSERT_TRUE(WaitFor([&] { return cn.Settled("CERT-UZ"); },
                        std::chrono::seconds(15)))
        << "round " << i << " never settles: "
        << cn.PeerState("CERT-UZ").dump();
    ASSERT_TRUE(WaitFor([&] { return !uz.Lookup(value).is_null(); }))
        << value << " never reached UZ";
    bool audited = false;
    for (const auto& e : cn.Audit(10000, "CERT-UZ")) {
      if (e["action"] != "share") continue;
      for (const auto& rec : e["detail"]["records"]) {
        audited = audited || rec["id"] == id;
      }
    }
    EXPECT_TRUE(audited) << "UZ holds " << id << " (" << value
                         << ") but CN's audit has no share entry for it";
    held.push_back(id);
  }
  for (const auto& id : held) {
    ASSERT_EQ(cn.Cli({"revoke", id, "--reason", "false positive"}).exit_code,
              0);
  }
  for (const auto& id : held) {
    EXPECT_TRUE(WaitFor(
        [&] {
          json j = uz.CliJson({"show", id});
          return !j.is_null() && j["indicator"]["revoked"] == true;
        },
        std::chrono::seconds(10)))
        << "the revocation of " << id << " never reached UZ";
  }
}

}  // namespace
}  // namespace caravan::integration
