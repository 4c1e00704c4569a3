#pragma once
// Random policy sets and random indicators with tricky values for the
// differential test. Policies are valid by construction (the loader must
// accept every set); values are whatever people and feeds write, and may
// well be refused by the submit parser.
//
// Every value belongs to a family, so that a family the engine does not
// handle yet can be switched off and coverage can be reported per family.

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/unit/policy/model/policy_model.h"
#include "tests/unit/policy/model/policy_writer.h"
#include "tests/unit/policy/model/value_model.h"

namespace caravan::policy::model {

// The value families. The tricky ones: ip-embedded (IPv4 inside IPv6),
// url-backslash, url-userinfo, numeric-host (hosts a browser reads as IPv4),
// url-v6 (bracketed literals, embedded forms), url-encoded (%-hosts),
// domain-idn (Unicode and xn-- labels), email (protected domains, IP
// literals); protected-v6 is a policy-side family: protected IPv4 networks
// written in an IPv6 embedding.
const std::vector<std::string>& AllFamilies();

struct Case {
  std::string family;
  // Submitted without a type: the parser detects it (DetectAndNormalize),
  // and a scheme-less "host:port" or "host/path" becomes an http:// URL.
  bool detect = false;
  Record record;
  Situation situation;
};

class Generator {
 public:
  Generator(uint64_t seed, std::set<std::string> families);

  Written PolicySet();
  Case Indicator(int64_t now);
  int Int(int lo, int hi);

 private:
  bool Chance(int percent);
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Int(0, static_cast<int>(v.size()) - 1))];
  }
  bool On(const std::string& family) const {
    return families_.count(family) != 0;
  }
  std::string MaybeUpper(const std::string& s, int percent);

  Outbound OutboundTable(
      std::vector<std::pair<std::string, std::string>>& keys);
  void Protect(Written& w);

  std::string Domain(bool idn);
  Net NearPoolV4();
  std::string V4Text(const Net& n);
  std::string V6Text(const Net& n);
  std::string EmbeddedV6(const Net& v4);
  std::string Host();  // a URL host of any kind
  std::string UrlValue(std::string& family);

  std::mt19937_64 rng_;
  std::set<std::string> families_;
};

}  // namespace caravan::policy::model
