#include "protocol/config/policy_templates.h"

namespace caravan::protocol {

std::string DefaultPolicyToml() {
  return R"(# default.toml: the policy for every country that no other file in this
# directory names. The reference for every key is docs/policy.md.
#
# A country gets its own file (policies/kz.toml with applies_to = ["KZ"]),
# else its group's file (applies_to = ["central-asia"], groups in
# groups.toml), else this one. Edit, then run `caravan policy check` and
# `caravan policy reload`.

[outbound]
# Default deny: nothing leaves for a country until a file says so.
share = false

[inbound]
# Accept what members send us; their own outbound policy decides what that
# is. TLP:RED never arrives: no node sends it automatically.
accept = true
# Relayed records (signed by their origin, forwarded by another member).
accept_relayed = true
# Hold everything from unknown members for review instead:
# quarantine = true
# Data minimisation: delete received indicators after a time.
# retention = "365d"
)";
}

std::vector<std::pair<std::string, std::string>> ExamplePolicyFiles() {
  return {
      {"example-partner.toml.sample",
       R"(# A close partner: we share most of what we have, quickly.
# Copy to kz.toml (any name ending in .toml) and edit applies_to.
applies_to = ["KZ"]

[outbound]
share = true
max_tlp = "amber"            # clear < green < amber < amber+strict
# types = ["ipv4", "ipv6", "domain", "url", "sha256"]   # absent: all types
min_confidence = 50
exclude_tags = ["internal"]  # never send what we marked internal
redact = ["description"]     # our analysts' notes stay here
embargo = "0"                # no delay
reshare = "direct"           # they may use it, not pass it on
max_per_day = 100000

[inbound]
accept = true
max_tlp = "amber+strict"
accept_relayed = true
)"},
      {"example-group.toml.sample",
       R"(# One track of cooperation: the same rules for every member of a group
# defined in groups.toml. A country's own file, if any, wins over this.
applies_to = ["central-asia"]

[outbound]
share = true
max_tlp = "green"
types = ["ipv4", "ipv6", "domain", "url", "sha256", "cve"]
min_confidence = 70
require_tags = ["ca-track"]  # only what an analyst marked for this track
embargo = "2h"               # time for our own response first
reshare = "federation"       # members may relay to the rest
max_per_day = 20000
)"},
      {"example-new-member.toml.sample",
       R"(# A cautious start with a new member: little out, everything in held for
# review until trust is established.
applies_to = ["TJ"]

[outbound]
share = true
max_tlp = "clear"
types = ["ipv4", "domain", "sha256"]
min_confidence = 80
exclude_tags = ["internal", "sensitive"]
redact = ["description", "tags"]
embargo = "1d"
reshare = "none"
max_per_day = 1000

[inbound]
accept = true
quarantine = true            # an operator approves each record
accept_relayed = false
retention = "90d"
)"},
      {"groups.toml.sample",
       R"(# Groups of countries, named in applies_to of a scope file.
# Copy to groups.toml. A country in two groups whose files both apply
# needs a file of its own.
[groups]
central-asia = ["KZ", "KG", "TJ", "TM", "UZ"]
)"},
      {"protected.toml.sample",
       R"(# National assets whose indicators never leave, whatever any other file
# says. Copy to protected.toml.
cidrs = ["192.0.2.0/24", "2001:db8::/32"]   # containment and overlap
domain_suffixes = ["gov.example"]           # and every name under it
asns = [64496]
)"},
  };
}

}  // namespace caravan::protocol
