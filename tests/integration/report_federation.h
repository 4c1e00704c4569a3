#pragma once
// Two real nodes whose decisions a `caravan report` test knows exactly
// (report_test.cc, report_html_test.cc): CERT-UZ shares with KZ up to
// AMBER except tag "internal"; it submits five records that leave (3 green
// domains, 1 amber URL, 1 clear IPv4) and two that are withheld (one RED,
// one tagged internal). CERT-KZ shares two green domains back.

#include <string>

#include "tests/integration/federation_fixture.h"

namespace caravan::integration {

class ReportFederation : public FederationFixture {
 protected:
  void SetUpNodes() {
    uz_ = &Make("CERT-UZ", "UZ");
    kz_ = &Make("CERT-KZ", "KZ");
    uz_->ShareWith("KZ", "amber", "exclude_tags = [\"internal\"]\n");
    kz_->ShareWith("UZ", "green");
    ASSERT_NO_FATAL_FAILURE(StartAllAndConnect(*uz_, *kz_));
    for (const char* d : {"r1.example", "r2.example", "r3.example"}) {
      Submit(*uz_, {"domain", d, "--tlp", "green"});
    }
    Submit(*uz_, {"url", "http://r4.example/x", "--tlp", "amber"});
    Submit(*uz_, {"ipv4", "198.51.100.7", "--tlp", "clear"});
    Submit(*uz_, {"domain", "red.example", "--tlp", "red"});
    Submit(*uz_, {"domain", "inside.example", "--tlp", "green", "--tag",
                  "internal"});
    Submit(*kz_, {"domain", "k1.example", "--tlp", "green"});
    Submit(*kz_, {"domain", "k2.example", "--tlp", "green"});
    ASSERT_NO_FATAL_FAILURE(WaitSettled(*uz_, *kz_));
    ASSERT_NO_FATAL_FAILURE(WaitSettled(*kz_, *uz_));
    ASSERT_TRUE(WaitFor([&] { return uz_->Count() == 9 && kz_->Count() == 7; }))
        << "UZ holds " << uz_->Count() << ", KZ " << kz_->Count();
  }

  FedNode* uz_ = nullptr;
  FedNode* kz_ = nullptr;
};

// The row of `list` whose `key` is `value`, or null.
inline nlohmann::json RowWith(const nlohmann::json& list, const char* key,
                              const std::string& value) {
  for (const auto& r : list) {
    if (r.contains(key) && r[key] == value) return r;
  }
  return nullptr;
}

}  // namespace caravan::integration
