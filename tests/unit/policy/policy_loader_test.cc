// Loading and validation of policy sets: every key, every error with its
// exact file:line, all errors collected, the set refused whole.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "daemon/policy/country_codes.h"
#include "daemon/policy/policy_duration.h"
#include "daemon/policy/policy_loader.h"
#include "tests/unit/policy/policy_test_util.h"

namespace caravan::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using protocol::IndicatorType;
using protocol::Reshare;
using protocol::Tlp;
using testing::ErrorsOf;
using testing::LoadWith;
using testing::MustLoad;

constexpr char kContractKz[] = R"(applies_to = ["KZ"]

[outbound]                 # what we send there
share = true
max_tlp = "amber"
types = ["ipv4", "ipv6", "domain", "url", "sha256"]
min_confidence = 50
exclude_tags = ["internal"]
require_tags = []
redact = ["description"]
embargo = "2h"
reshare = "direct"
max_per_day = 100000

[inbound]                  # what we accept from there
accept = true
max_tlp = "amber"
types = ["ipv4", "domain"]
min_confidence = 0
retention = "180d"
quarantine = false
accept_relayed = true
)";

TEST(PolicyLoader, LoadsTheContractExample) {
  PolicySet set = MustLoad({
      {"kz.toml", kContractKz},
      {"protected.toml",
       "cidrs = [\"195.158.0.0/16\"]\ndomain_suffixes = [\"gov.uz\"]\n"
       "asns = [8193]\n"},
      {"groups.toml",
       "[groups]\ncentral-asia = [\"KZ\", \"KG\", \"TJ\", \"TM\", \"UZ\"]\n"},
  });
  ASSERT_EQ(set.scopes.size(), 1u);
  const PolicyFile& kz = set.scopes[0];
  EXPECT_EQ(kz.name, "kz.toml");
  EXPECT_THAT(kz.applies_to, ElementsAre("KZ"));
  ASSERT_TRUE(kz.outbound.has_value());
  const OutboundRules& o = *kz.outbound;
  EXPECT_TRUE(o.share);
  EXPECT_EQ(o.max_tlp, Tlp::kAmber);
  TypeSet types{};
  for (auto t : {IndicatorType::kIpv4, IndicatorType::kIpv6,
                 IndicatorType::kDomain, IndicatorType::kUrl,
                 IndicatorType::kSha256}) {
    types[static_cast<size_t>(t)] = true;
  }
  EXPECT_EQ(o.types, types);
  EXPECT_EQ(o.min_confidence, 50);
  EXPECT_THAT(o.exclude_tags, ElementsAre("internal"));
  EXPECT_TRUE(o.require_tags.empty());
  EXPECT_THAT(o.redact, ElementsAre(RedactField::kDescription));
  EXPECT_EQ(o.embargo, 2 * 3600);
  EXPECT_EQ(o.reshare, Reshare::kDirect);
  EXPECT_EQ(o.max_per_day, 100000u);
  ASSERT_TRUE(kz.inbound.has_value());
  const InboundRules& in = *kz.inbound;
  EXPECT_TRUE(in.accept);
  EXPECT_EQ(in.max_tlp, Tlp::kAmber);
  EXPECT_EQ(in.retention, 180 * 86400);
  EXPECT_FALSE(in.quarantine);
  EXPECT_TRUE(in.accept_relayed);
  EXPECT_EQ(kz.LineOf("outbound.max_tlp"), 5);
  EXPECT_EQ(kz.LineOf("inbound.retention"), 20);
  EXPECT_EQ(kz.LineOf("outbound.nothing"), 0);

  ASSERT_EQ(set.protected_assets.cidrs.size(), 1u);
  EXPECT_EQ(set.protected_assets.cidrs[0].network.ToString(), "195.158.0.0/16");
  EXPECT_EQ(set.protected_assets.domain_suffixes[0].suffix, "gov.uz");
  EXPECT_EQ(set.protected_assets.asns[0].asn, 8193u);
  EXPECT_EQ(set.protected_assets.asns[0].line, 3);
  EXPECT_THAT(set.groups.at("central-asia"),
              ElementsAre("KG", "KZ", "TJ", "TM", "UZ"));
  EXPECT_EQ(set.country_files.at("KZ"), 0u);
}

TEST(PolicyLoader, AbsentKeysTakeTheDocumentedDefaults) {
  PolicySet set = MustLoad({{"default.toml", ""},
                            {"x.toml", "applies_to=[\"KZ\"]\n[outbound]\n[inbound]\n"}});
  for (const OutboundRules& o :
       {*set.default_file.outbound, *set.scopes[0].outbound}) {
    EXPECT_FALSE(o.share);
    EXPECT_EQ(o.max_tlp, Tlp::kGreen);
    EXPECT_EQ(o.types, kAllTypes);
    EXPECT_EQ(o.min_confidence, 0);
    EXPECT_TRUE(o.exclude_tags.empty());
    EXPECT_TRUE(o.require_tags.empty());
    EXPECT_TRUE(o.redact.empty());
    EXPECT_EQ(o.embargo, 0);
    EXPECT_EQ(o.reshare, Reshare::kNone);
    EXPECT_FALSE(o.max_per_day.has_value());
  }
  for (const InboundRules& in :
       {*set.default_file.inbound, *set.scopes[0].inbound}) {
    EXPECT_TRUE(in.accept);
    EXPECT_EQ(in.max_tlp, Tlp::kRed);
    EXPECT_EQ(in.types, kAllTypes);
    EXPECT_EQ(in.min_confidence, 0);
    EXPECT_FALSE(in.retention.has_value());
    EXPECT_FALSE(in.quarantine);
    EXPECT_TRUE(in.accept_relayed);
  }
}

TEST(PolicyLoader, ScopeFileWithoutATableLeavesThatDirectionUnset) {
  PolicySet set = MustLoad({{"kz.toml", "applies_to = [\"KZ\"]\n[inbound]\naccept = false\n"}});
  EXPECT_FALSE(set.scopes[0].outbound.has_value());
  ASSERT_TRUE(set.scopes[0].inbound.has_value());
  EXPECT_FALSE(set.scopes[0].inbound->accept);
}

TEST(PolicyLoader, MissingDefaultIsAnError) {
  auto r = LoadPolicyText({{"kz.toml", "applies_to = [\"KZ\"]\n"}});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), StartsWith("default.toml:1: missing"));
}

TEST(PolicyLoader, DefaultWithAppliesToIsAnError) {
  EXPECT_THAT(ErrorsOf({{"default.toml", "# c\napplies_to = [\"KZ\"]\n"}}),
              ElementsAre(StartsWith("default.toml:2: default.toml cannot have "
                                     "'applies_to'")));
}

TEST(PolicyLoader, UnknownKeysAreReportedAtTheirLineWithASuggestion) {
  EXPECT_THAT(
      ErrorsOf({{"kz.toml",
                 "applies_to = [\"KZ\"]\n\n[outbound]\nshare = true\n\n\nmax_tpl = \"amber\"\n"}}),
      ElementsAre("kz.toml:7: unknown key 'max_tpl' in [outbound]; did you "
                  "mean 'max_tlp'?"));
  EXPECT_THAT(ErrorsOf({{"kz.toml", "applies_to = [\"KZ\"]\n[inbound]\nfoo = 1\n"}}),
              ElementsAre("kz.toml:3: unknown key 'foo' in [inbound]"));
  EXPECT_THAT(ErrorsOf({{"kz.toml", "applies_to = [\"KZ\"]\noutbund = {}\n"}}),
              ElementsAre("kz.toml:2: unknown key 'outbund' at the top level; "
                          "did you mean 'outbound'?"));
  EXPECT_THAT(ErrorsOf({{"default.toml", "[outbound]\n[extra]\n"}}),
              ElementsAre(StartsWith("default.toml:2: unknown key 'extra'")));
  EXPECT_THAT(ErrorsOf({{"protected.toml", "cidr = []\n"}}),
              ElementsAre(StartsWith("protected.toml:1: unknown key 'cidr' in "
                                     "protected.toml")));
  EXPECT_THAT(ErrorsOf({{"groups.toml", "[groups]\n[other]\n"}}),
              ElementsAre(StartsWith("groups.toml:2: unknown key 'other'")));
}

TEST(PolicyLoader, WrongTypesAreReportedAtTheirLine) {
  EXPECT_THAT(ErrorsOf({{"default.toml", "[outbound]\nshare = \"yes\"\n"}}),
              ElementsAre("default.toml:2: 'share' in [outbound] must be true "
                          "or false, not a string"));
  EXPECT_THAT(ErrorsOf({{"default.toml", "[outbound]\nmin_confidence = \"50\"\n"}}),
              ElementsAre("default.toml:2: 'min_confidence' in [outbound] must "
                          "be an integer, not a string"));
  EXPECT_THAT(ErrorsOf({{"default.toml", "[inbound]\ntypes = \"ipv4\"\n"}}),
              ElementsAre("default.toml:2: 'types' in [inbound] must be an "
                          "array of strings, not a string"));
  EXPECT_THAT(ErrorsOf({{"default.toml", "[inbound]\ntypes = [\"ipv4\",\n 4]\n"}}),
              ElementsAre("default.toml:3: every entry of 'types' in [inbound] "
                          "must be a string, not an integer"));
  EXPECT_THAT(ErrorsOf({{"default.toml", "outbound = 5\n"}}),
              ElementsAre("default.toml:1: 'outbound' must be a table "
                          "([outbound]), not an integer"));
  EXPECT_THAT(ErrorsOf({{"default.toml", "[[inbound]]\naccept = true\n"}}),
              ElementsAre(StartsWith("default.toml:1: 'inbound' must be a table")));
  EXPECT_THAT(ErrorsOf({{"default.toml", "[inbound]\nquarantine = 1\n"}}),
              ElementsAre(HasSubstr(":2: 'quarantine' in [inbound] must be true")));
  EXPECT_THAT(ErrorsOf({{"default.toml", "[inbound]\naccept_relayed = 0\n"}}),
              ElementsAre(HasSubstr(":2: 'accept_relayed' in [inbound]")));
  EXPECT_THAT(ErrorsOf({{"default.toml", "[outbound]\nreshare = 2\n"}}),
              ElementsAre(HasSubstr(":2: 'reshare' in [outbound] must be a string")));
}

TEST(PolicyLoader, TlpNames) {
  EXPECT_THAT(ErrorsOf({{"default.toml", "[outbound]\nmax_tlp = \"orange\"\n"}}),
              ElementsAre(StartsWith("default.toml:2: unknown TLP 'orange' for "
                                     "'max_tlp' in [outbound]")));
  // TLP:RED never leaves automatically, so it cannot be an outbound ceiling.
  EXPECT_THAT(ErrorsOf({{"default.toml", "[outbound]\nmax_tlp = \"red\"\n"}}),
              ElementsAre(HasSubstr(":2: 'max_tlp' in [outbound] cannot be 'red'")));
  PolicySet set = MustLoad({{"default.toml",
                             "[outbound]\nmax_tlp = \"amber+strict\"\n"
                             "[inbound]\nmax_tlp = \"red\"\n"}});
  EXPECT_EQ(set.default_file.outbound->max_tlp, Tlp::kAmberStrict);
  EXPECT_EQ(set.default_file.inbound->max_tlp, Tlp::kRed);
}

TEST(PolicyLoader, TypeNames) {
  EXPECT_THAT(ErrorsOf({{"default.toml", "[outbound]\ntypes = [\"ipv4\", \"hash\"]\n"}}),
              ElementsAre(StartsWith("default.toml:2: unknown indicator type "
                                     "'hash' in 'types' in [outbound]")));
  EXPECT_THAT(ErrorsOf({{"default.toml", "[outbound]\ntypes = [\"ipv4\", \"ipv4\"]\n"}}),
              ElementsAre(HasSubstr(":2: 'ipv4' is listed twice")));
  EXPECT_THAT(ErrorsOf({{"default.toml", "[inbound]\n\ntypes = []\n"}}),
              ElementsAre(HasSubstr(":3: 'types' in [inbound] is empty")));
}

TEST(PolicyLoader, ConfidenceRange) {
  EXPECT_THAT(ErrorsOf({{"default.toml", "[outbound]\nmin_confidence = 101\n"}}),
              ElementsAre("default.toml:2: 'min_confidence' in [outbound] is "
                          "101, out of range 0..100"));
  EXPECT_THAT(ErrorsOf({{"default.toml", "[inbound]\nmin_confidence = -1\n"}}),
              ElementsAre(HasSubstr(":2: 'min_confidence' in [inbound] is -1")));
  EXPECT_EQ(MustLoad({{"default.toml", "[outbound]\nmin_confidence = 100\n"}})
                .default_file.outbound->min_confidence,
            100);
}

TEST(PolicyLoader, Durations) {
  for (const auto& [text, seconds] :
       std::vector<std::pair<std::string, int64_t>>{{"\"0\"", 0},
                                                    {"0", 0},
                                                    {"\"90s\"", 90},
                                                    {"\"15m\"", 900},
                                                    {"\"2h\"", 7200},
                                                    {"\"30d\"", 30 * 86400},
                                                    {"\"1w\"", 7 * 86400}}) {
    PolicySet set = MustLoad({{"default.toml", "[outbound]\nembargo = " + text + "\n"}});
    EXPECT_EQ(set.default_file.outbound->embargo, seconds) << text;
  }
  for (const std::string bad :
       {"\"2x\"", "\"-1h\"", "\"2 h\"", "\"\"", "\"1.5h\"", "\"h\"",
        "\"99999999999w\"", "\"2H\""}) {
    EXPECT_THAT(ErrorsOf({{"default.toml", "[outbound]\nembargo = " + bad + "\n"}}),
                ElementsAre(StartsWith("default.toml:2: bad duration")))
        << bad;
  }
  EXPECT_THAT(ErrorsOf({{"default.toml", "[outbound]\nembargo = 5\n"}}),
              ElementsAre(HasSubstr(":2: 'embargo' in [outbound] must be a "
                                    "duration string")));
  // Retention 0 would delete on arrival: refuse it.
  EXPECT_THAT(ErrorsOf({{"default.toml", "[inbound]\nretention = \"0\"\n"}}),
              ElementsAre(HasSubstr(":2: 'retention' in [inbound] must be "
                                    "longer than 0")));
  EXPECT_EQ(ParsePolicyDuration("5200w"), 5200LL * 7 * 86400);
  EXPECT_EQ(ParsePolicyDuration("5300w"), std::nullopt);  // > 100 years
  EXPECT_EQ(FormatPolicyDuration(7200), "2h");
  EXPECT_EQ(FormatPolicyDuration(90), "90s");
  EXPECT_EQ(FormatPolicyDuration(0), "0");
  EXPECT_EQ(FormatPolicyDuration(14 * 86400), "2w");
}

TEST(PolicyLoader, ReshareAndQuota) {
  EXPECT_THAT(ErrorsOf({{"default.toml", "[outbound]\nreshare = \"all\"\n"}}),
              ElementsAre("default.toml:2: 'reshare' in [outbound] is 'all'; "
                          "it must be none, direct or federation"));
  EXPECT_THAT(ErrorsOf({{"default.toml", "[outbound]\nmax_per_day = -5\n"}}),
              ElementsAre(HasSubstr(":2: 'max_per_day' in [outbound] is -5; a "
                                    "daily quota must be at least 1")));
  EXPECT_THAT(ErrorsOf({{"default.toml", "[outbound]\nmax_per_day = 0\n"}}),
              ElementsAre(HasSubstr(":2: 'max_per_day' in [outbound] is 0")));
  EXPECT_THAT(ErrorsOf({{"default.toml", "[outbound]\nmax_per_day = 1.5\n"}}),
              ElementsAre(HasSubstr(":2: 'max_per_day' in [outbound] must be an "
                                    "integer, not a float")));
  EXPECT_EQ(MustLoad({{"default.toml", "[outbound]\nreshare = \"federation\"\n"}})
                .default_file.outbound->reshare,
            Reshare::kFederation);
}

TEST(PolicyLoader, TagsAndRedact) {
  PolicySet set = MustLoad({{"default.toml",
                             "[outbound]\nexclude_tags = [\"Internal\", \"b\"]\n"
                             "require_tags = [\"ca-track\"]\n"
                             "redact = [\"valid_until\", \"description\", \"tags\", "
                             "\"first_seen\", \"last_seen\"]\n"}});
  const OutboundRules& o = *set.default_file.outbound;
  EXPECT_THAT(o.exclude_tags, ElementsAre("b", "internal"));
  EXPECT_THAT(o.require_tags, ElementsAre("ca-track"));
  EXPECT_THAT(o.redact,
              ElementsAre(RedactField::kDescription, RedactField::kTags,
                          RedactField::kFirstSeen, RedactField::kLastSeen,
                          RedactField::kValidUntil));
  EXPECT_THAT(ErrorsOf({{"default.toml", "[outbound]\nredact = [\"confidence\"]\n"}}),
              ElementsAre(StartsWith("default.toml:2: unknown field 'confidence' "
                                     "in 'redact' in [outbound]")));
  EXPECT_THAT(ErrorsOf({{"default.toml", "[outbound]\nexclude_tags = [\"\"]\n"}}),
              ElementsAre(HasSubstr(":2: a tag in 'exclude_tags'")));
  EXPECT_THAT(ErrorsOf({{"default.toml",
                         "[outbound]\nexclude_tags = [\"x\"]\nrequire_tags = [\"X\"]\n"}}),
              ElementsAre(HasSubstr(":3: tag 'x' is both required and excluded")));
}

TEST(PolicyLoader, ProtectedAssetsValidation) {
  EXPECT_THAT(ErrorsOf({{"protected.toml",
                         "cidrs = [\"195.158.0.0/16\",\n \"195.158.0.0/33\",\n "
                         "\"banana\"]\n"}}),
              ElementsAre(StartsWith("protected.toml:2: bad CIDR '195.158.0.0/33'"),
                          StartsWith("protected.toml:3: bad CIDR 'banana'")));
  EXPECT_THAT(ErrorsOf({{"protected.toml", "domain_suffixes = [\".gov.uz\"]\n"}}),
              ElementsAre(StartsWith("protected.toml:1: bad domain suffix "
                                     "'.gov.uz': write it without a leading")));
  EXPECT_THAT(ErrorsOf({{"protected.toml", "domain_suffixes = [\"gov..uz\"]\n"}}),
              ElementsAre(HasSubstr("every label must be")));
  EXPECT_THAT(ErrorsOf({{"protected.toml", "domain_suffixes = [\"g\xc3\xb6v.uz\"]\n"}}),
              ElementsAre(HasSubstr("A-labels")));
  EXPECT_THAT(ErrorsOf({{"protected.toml", "asns = [\"AS8193\"]\n"}}),
              ElementsAre(StartsWith("protected.toml:1: every entry of 'asns' "
                                     "must be an AS number")));
  EXPECT_THAT(ErrorsOf({{"protected.toml", "asns = [4294967296]\n"}}),
              ElementsAre(HasSubstr("1..4294967295")));
  PolicySet set = MustLoad({{"protected.toml",
                             "cidrs = [\"2001:db8::/32\"]\ndomain_suffixes = "
                             "[\"GOV.UZ\"]\nasns = [4294967295]\n"}});
  EXPECT_EQ(set.protected_assets.domain_suffixes[0].suffix, "gov.uz");
  EXPECT_TRUE(set.protected_assets.cidrs[0].network.is_v6);
}

TEST(PolicyLoader, AppliesToValidation) {
  EXPECT_THAT(ErrorsOf({{"kz.toml", "[outbound]\nshare = true\n"}}),
              ElementsAre(StartsWith("kz.toml:1: missing 'applies_to'")));
  EXPECT_THAT(ErrorsOf({{"kz.toml", "applies_to = []\n"}}),
              ElementsAre(StartsWith("kz.toml:1: 'applies_to' is empty")));
  EXPECT_THAT(ErrorsOf({{"kz.toml", "applies_to = [\"XX\"]\n"}}),
              ElementsAre("kz.toml:1: in 'applies_to': 'XX' is not an assigned "
                          "ISO 3166-1 alpha-2 country code"));
  EXPECT_THAT(ErrorsOf({{"kz.toml", "applies_to = [\"Kz\"]\n"}}),
              ElementsAre("kz.toml:1: in 'applies_to': country codes are upper "
                          "case: write 'KZ'"));
  EXPECT_THAT(ErrorsOf({{"kz.toml", "applies_to = [\"kz\"]\n"}}),
              ElementsAre(StartsWith("kz.toml:1: 'applies_to' names unknown "
                                     "group 'kz'")));
  EXPECT_THAT(ErrorsOf({{"groups.toml", "[groups]\na = [\"UZ\"]\nb = [\"KZ\"]\n"},
                        {"x.toml", "applies_to = [\"central-asia\"]\n"}}),
              ElementsAre("x.toml:1: 'applies_to' names unknown group "
                          "'central-asia' (groups.toml defines: a, b)"));
  EXPECT_THAT(ErrorsOf({{"kz.toml", "applies_to = [\"KZ\", \"KZ\"]\n"}}),
              ElementsAre(HasSubstr(":1: 'KZ' is listed twice in 'applies_to'")));
  EXPECT_THAT(ErrorsOf({{"kz.toml", "applies_to = \"KZ\"\n"}}),
              ElementsAre(HasSubstr(":1: 'applies_to' must be an array")));
}

TEST(PolicyLoader, GroupsValidation) {
  EXPECT_THAT(ErrorsOf({{"groups.toml",
                         "[groups]\nCentral = [\"KZ\"]\nok = [\"KZ\", \"QQ\"]\n"
                         "twice = [\"UZ\",\n\"UZ\"]\nbad = \"KZ\"\n"}}),
              ElementsAre(StartsWith("groups.toml:2: group name 'Central'"),
                          "groups.toml:3: in group 'ok': 'QQ' is not an assigned "
                          "ISO 3166-1 alpha-2 country code",
                          "groups.toml:5: 'UZ' is listed twice in group 'twice'",
                          StartsWith("groups.toml:6: group 'bad' must be an array")));
}

TEST(PolicyLoader, ACountryClaimedByTwoCountryFilesIsAnError) {
  EXPECT_THAT(ErrorsOf({{"a.toml", "applies_to = [\"KZ\"]\n"},
                        {"b.toml", "# x\napplies_to = [\"UZ\",\n \"KZ\"]\n"}}),
              ElementsAre("b.toml:3: KZ already has a country file, a.toml "
                          "(line 1); a country may be named by only one file"));
}

TEST(PolicyLoader, ACountryInTwoGroupFilesNeedsItsOwnFile) {
  const std::map<std::string, std::string> files = {
      {"groups.toml",
       "[groups]\ncentral-asia = [\"KZ\", \"UZ\"]\nturkic = [\"UZ\", \"TR\"]\n"},
      {"ca.toml", "applies_to = [\"central-asia\"]\n"},
      {"tu.toml", "\napplies_to = [\"turkic\"]\n"}};
  EXPECT_THAT(ErrorsOf(files),
              ElementsAre("tu.toml:2: UZ is claimed by two group files: ca.toml "
                          "(group central-asia) and tu.toml (group turkic); add "
                          "a country file for UZ or take it out of one group"));
  // UZ's own file settles it only when it has both tables (a missing one
  // would fall through to the ambiguous groups).
  auto with_uz = files;
  with_uz["uz.toml"] = "applies_to = [\"UZ\"]\n[outbound]\nshare = true\n";
  EXPECT_THAT(ErrorsOf(with_uz),
              ElementsAre("uz.toml:1: uz.toml has no [inbound] table, so for UZ "
                          "it would fall through to a group file, but two claim "
                          "it: ca.toml (group central-asia) and tu.toml (group "
                          "turkic); add the table"));
  with_uz["uz.toml"] += "[inbound]\n";
  PolicySet set = MustLoad(with_uz);
  EXPECT_EQ(set.scopes[set.country_files.at("UZ")].name, "uz.toml");
  EXPECT_EQ(set.scopes[set.group_files.at("KZ").first].name, "ca.toml");
  EXPECT_EQ(set.scopes[set.group_files.at("TR").first].name, "tu.toml");
  EXPECT_EQ(set.group_files.count("UZ"), 0u);
  // Two groups in one file claiming the same country is not a conflict.
  PolicySet one = MustLoad({{"groups.toml", files.at("groups.toml")},
                            {"both.toml", "applies_to = [\"central-asia\", \"turkic\"]\n"}});
  EXPECT_EQ(one.group_files.at("UZ").first, 0u);
}

TEST(PolicyLoader, AGroupNamedByTwoFilesIsAnError) {
  EXPECT_THAT(ErrorsOf({{"groups.toml", "[groups]\nca = [\"KZ\"]\n"},
                        {"a.toml", "applies_to = [\"ca\"]\n"},
                        {"b.toml", "applies_to = [\"ca\"]\n"}}),
              ElementsAre("b.toml:1: group 'ca' is already applied by a.toml "
                          "(line 1); a group may be named by only one file"));
}

TEST(PolicyLoader, SyntaxErrorsNameFileAndLine) {
  auto errors = ErrorsOf({{"kz.toml", "applies_to = [\"KZ\"]\n[outbound\nshare = true\n"}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], StartsWith("kz.toml:2: TOML syntax error: "));
  errors = ErrorsOf({{"default.toml", "[outbound]\nshare = true\nshare = false\n"}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], StartsWith("default.toml:3: TOML syntax error: "));
}

TEST(PolicyLoader, EveryErrorOfEveryFileIsReportedSorted) {
  auto errors = ErrorsOf({
      {"default.toml", "[outbound]\nshare = 1\nmax_tlp = \"red\"\n"},
      {"kz.toml", "applies_to = [\"KZ\"]\n[outbound]\nembargo = \"soon\"\nfoo = 1\n"},
      {"protected.toml", "cidrs = [\"x\"]\n"},
      {"broken.toml", "= = =\n"},
  });
  ASSERT_EQ(errors.size(), 6u);
  EXPECT_THAT(errors[0], StartsWith("broken.toml:1: TOML syntax error"));
  EXPECT_THAT(errors[1], StartsWith("default.toml:2: 'share'"));
  EXPECT_THAT(errors[2], StartsWith("default.toml:3: 'max_tlp'"));
  EXPECT_THAT(errors[3], StartsWith("kz.toml:3: bad duration 'soon'"));
  EXPECT_THAT(errors[4], StartsWith("kz.toml:4: unknown key 'foo'"));
  EXPECT_THAT(errors[5], StartsWith("protected.toml:1: bad CIDR 'x'"));
}

TEST(PolicyLoader, FilesNotEndingInTomlAreIgnored) {
  PolicySet set = MustLoad({{"kz.toml.sample", "garbage = ["},
                            {"README", "not toml"},
                            {"kz.toml~", "applies_to = [\"QQ\"]"}});
  EXPECT_TRUE(set.scopes.empty());
}

TEST(PolicyLoader, CountryCodes) {
  EXPECT_TRUE(IsAssignedCountryCode("UZ"));
  EXPECT_TRUE(IsAssignedCountryCode("AD"));
  EXPECT_TRUE(IsAssignedCountryCode("ZW"));
  EXPECT_TRUE(IsAssignedCountryCode("XK"));
  EXPECT_FALSE(IsAssignedCountryCode("uz"));
  EXPECT_FALSE(IsAssignedCountryCode("UK"));  // reserved, not assigned: GB
  EXPECT_FALSE(IsAssignedCountryCode("EU"));
  EXPECT_FALSE(IsAssignedCountryCode("D "));
  EXPECT_FALSE(IsAssignedCountryCode("Z"));
  EXPECT_FALSE(IsAssignedCountryCode("ZWE"));
  // A code straddling two table entries ("D AE" -> "D ", "AE") never matches.
  EXPECT_FALSE(IsAssignedCountryCode("DA"));
  int assigned = 0;
  for (char a = 'A'; a <= 'Z'; ++a) {
    for (char b = 'A'; b <= 'Z'; ++b) {
      assigned += IsAssignedCountryCode(std::string{a, b}) ? 1 : 0;
    }
  }
  EXPECT_EQ(assigned, 249 + 1);  // ISO's 249 plus XK
}

class PolicyDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("caravan-policy-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ / name) << content;
  }
  std::filesystem::path dir_;
};

TEST_F(PolicyDirTest, LoadsTomlFilesAndIgnoresTheRest) {
  Write("default.toml", "[outbound]\nshare = false\n");
  Write("kz.toml", kContractKz);
  Write("example.toml.sample", "this is not toml");
  std::filesystem::create_directories(dir_ / "old.toml");  // a directory
  auto set = LoadPolicyDir(dir_);
  ASSERT_TRUE(set.ok()) << set.status().message();
  ASSERT_EQ(set->scopes.size(), 1u);
  EXPECT_EQ(set->scopes[0].name, "kz.toml");
}

TEST_F(PolicyDirTest, ErrorsAreRelativeToTheDirectory) {
  Write("default.toml", "[outbound]\nshare = false\n");
  Write("kz.toml", "applies_to = [\"KZ\"]\n[outbound]\nmax_tpl = \"amber\"\n");
  auto set = LoadPolicyDir(dir_);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().message(),
            "kz.toml:3: unknown key 'max_tpl' in [outbound]; did you mean "
            "'max_tlp'?");
}

TEST_F(PolicyDirTest, OversizedFileIsRefused) {
  Write("default.toml", "# " + std::string(kMaxPolicyFileBytes, 'x') + "\n");
  auto set = LoadPolicyDir(dir_);
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.status().message(), HasSubstr("default.toml:1: file is larger"));
}

TEST_F(PolicyDirTest, MissingDirectoryIsUnavailable) {
  auto set = LoadPolicyDir(dir_ / "nope");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace caravan::policy
