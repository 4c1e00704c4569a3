// Node administration commands: status, key, revoke, sight, audit, policy,
// peers, quarantine. Each sends one typed request and shows the JSON reply.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <tuple>
#include <iostream>

#include "protocol/time_text.h"
#include "tools/audit_text.h"
#include "tools/commands.h"
#include "tools/human_units.h"
#include "tools/invite.h"
#include "tools/sibling_binary.h"
#include "tools/submission_builder.h"
#include "tools/table.h"

namespace caravan::tools {
namespace {

using Request = protocol::wire::Request;

// Sends a request built by `fill`, prints the JSON reply with --json or
// hands it to `show` for people.
template <typename Fill, typename Show>
int CallAndShow(const GlobalOptions& global, Fill fill, Show show) {
  capnp::MallocMessageBuilder message;
  fill(message.initRoot<Request>());
  auto doc = CallForJson(global, message);
  if (!doc.ok()) return Fail(doc.status());
  if (global.json) {
    PrintJson(*doc);
  } else {
    show(*doc);
  }
  return 0;
}

std::string Str(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// Exact numbers of a peers entry shown for people: sizes in binary units,
// times as ages ("3 min ago"); "-" for what never happened.
std::string BytesCell(const nlohmann::json& v) {
  return v.is_number_unsigned() ? HumanBytes(v.get<uint64_t>()) : Str(v);
}
std::string AgeCell(const nlohmann::json& v, int64_t now) {
  return v.is_string() ? HumanAgeOfText(v.get<std::string>(), now) : "-";
}

// DEFERRED: records held back from the peer until a time (quota, embargo)
// and when the first of them is tried again.
std::string DeferredCell(const nlohmann::json& p, int64_t now) {
  const uint64_t deferred = p.value("deferred", uint64_t{0});
  if (deferred == 0) return "0";
  const auto retry = p.value("deferred_retry_at", nlohmann::json());
  return std::to_string(deferred) +
         (retry.is_string() ? ", retry " + AgeCell(retry, now) : "");
}

// A hub delay for people: "850 ms", "42.0 s", or HumanDuration beyond a
// minute.
std::string DelayText(double seconds) {
  if (seconds < 1) {
    return std::to_string(static_cast<int64_t>(seconds * 1000)) + " ms";
  }
  if (seconds < 60) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
    return buf;
  }
  return HumanDuration(static_cast<int64_t>(seconds));
}

// "2 at hub, 3 unreceipted; faults: 1 gap" for a member via a hub, "-"
// otherwise.
std::string SealedCell(const nlohmann::json& p) {
  if (!p.contains("queued_at_hub") || p["queued_at_hub"].is_null()) return "-";
  std::string cell = Str(p["queued_at_hub"]) + " at hub, " +
                     Str(p["awaiting_receipt"]) + " unreceipted";
  if (p.contains("hub_faults") && p["hub_faults"].is_object()) {
    std::string faults;
    for (const char* kind : {"gaps", "duplicates", "refused", "broken"}) {
      const auto& f = p["hub_faults"];
      if (f.contains(kind) && f[kind].is_number() && f[kind].get<int64_t>() > 0) {
        faults += (faults.empty() ? "" : ", ") + Str(f[kind]) + " " + kind;
      }
    }
    if (!faults.empty()) cell += "; faults: " + faults;
  }
  // Forward secrecy: nothing is sealed while no prekey of it is known.
  if (p.contains("awaiting_prekey") && p["awaiting_prekey"] == true) {
    cell += "; awaiting prekey";
  }
  // Hub accountability: the worst delay through the hub lately.
  if (p.contains("hub_delay") && p["hub_delay"].is_object()) {
    cell += "; worst delay " +
            DelayText(p["hub_delay"].value("worst_recent_seconds", 0.0));
  }
  return cell;
}

// One line per hub for `caravan status`: the worst delay a sealed
// envelope took through it in the last hour, and whose.
void ShowHubDelays(const nlohmann::json& delays) {
  for (const auto& h : delays) {
    std::cout << "hub delay:   " << h.value("hub", std::string("-"))
              << ": worst "
              << DelayText(h.value("worst_recent_seconds", 0.0))
              << " in the last hour (from "
              << h.value("sender", std::string("-")) << "), "
              << h.value("over_alert", uint64_t{0})
              << " over [hub] delay_alert since start\n";
  }
}

// ENDPOINT says how a member is reached: dialed there, through a hub
// ("via HUB"), or "-" (it dials us). On a hub, HUB QUEUE is what the hub
// holds for the member: sealed envelopes and their bytes. For members
// reached via a hub, SEALED is our batches the hub holds ("at hub") and
// those the member has not receipted yet, and any faults its chain to us
// showed (gaps, duplicates, refused envelopes). Sizes and ages are for
// people; --json has the exact numbers and RFC 3339 times.
void ShowPeers(const nlohmann::json& peers) {
  const int64_t now = std::time(nullptr);
  bool hub = false, sealed = false;
  for (const auto& p : peers) {
    if (p.contains("queued_at_hub") && !p["queued_at_hub"].is_null()) {
      sealed = true;
    }
    if (p.contains("hub_queued_envelopes") &&
        !p["hub_queued_envelopes"].is_null()) {
      hub = true;
    }
  }
  std::vector<std::string> header = {
      "NAME",    "COUNTRY",  "ENDPOINT", "LINK", "HANDSHAKE", "LAST CONTACT",
      "BACKLOG", "DEFERRED", "SENT",     "RECEIVED"};
  if (hub) header.push_back("HUB QUEUE");
  if (sealed) header.push_back("SEALED");
  header.push_back("FINGERPRINT");
  header.push_back("LAST ERROR");
  Table table(header);
  for (const auto& p : peers) {
    const bool via = p.contains("via") && p["via"].is_string();
    std::vector<std::string> row = {
        Str(p["name"]),
        Str(p["country"]),
        via ? "via " + Str(p["via"]) : Str(p["endpoint"]),
        Str(p["link"]),
        AgeCell(p.value("last_handshake", nlohmann::json()), now),
        AgeCell(p["last_contact"], now),
        Str(p["backlog"]),
        DeferredCell(p, now),
        BytesCell(p["bytes_sent"]),
        BytesCell(p["bytes_received"])};
    if (hub) {
      row.push_back(Str(p["hub_queued_envelopes"]) + " (" +
                    Str(p["hub_queued_bytes"]) + " B)");
    }
    if (sealed) row.push_back(SealedCell(p));
    // Identity key rotation: say so beside the fingerprint, so the operator
    // confirms the new one out of band (docs/federation.md).
    const auto rotated = p.value("key_rotated_at", nlohmann::json());
    row.push_back(Str(p["fingerprint"]) +
                  (rotated.is_string() ? " (key rotated " +
                                             rotated.get<std::string>().substr(0, 10) + ")"
                                       : ""));
    const auto error = p.value("last_error", nlohmann::json());
    const auto refusal = p.value("refusal", nlohmann::json());
    if (refusal.is_object() && error.is_string()) {
      // "not on CERT-UZ's roster (told by CERT-UZ, authenticated) since
      // 3 min ago": an episode, not one event.
      row.push_back(error.get<std::string>() + " since " +
                    AgeCell(refusal.value("since", nlohmann::json()), now) +
                    ", " + Str(refusal["count"]) + " refusals");
    } else {
      row.push_back(error.is_string()
                        ? error.get<std::string>() + " (" +
                              AgeCell(p.value("last_error_at", nlohmann::json()),
                                      now) +
                              ")"
                        : "-");
    }
    table.AddRow(row);
  }
  table.Print(std::cout);
}

// The first line of `caravan status`: "ok", or "degraded: " and the
// daemon's reasons (docs/cli.md, "Health").
std::string HealthHeadline(const nlohmann::json& status) {
  const auto health = status.value("health", nlohmann::json::object());
  if (health.value("state", std::string("ok")) == "ok") return "ok";
  std::string line = "degraded:";
  const auto reasons = health.value("reasons", nlohmann::json::array());
  for (size_t i = 0; i < reasons.size(); ++i) {
    line += (i == 0 ? " " : "; ") + Str(reasons[i]);
  }
  return line;
}

}  // namespace

int RunStatus(const GlobalOptions& global) {
  capnp::MallocMessageBuilder message;
  message.initRoot<Request>().setStatus();
  auto doc = CallForJson(global, message);
  if (!doc.ok()) return Fail(doc.status());
  const auto& d = *doc;
  if (global.json) {
    PrintJson(d);
  } else {
    const auto& node = d["node"];
    const auto& counts = d["counts"];
    const auto& policy = d["policy"];
    std::cout << HealthHeadline(d) << "\n"
              << "node:        " << Str(node["name"]) << " ("
              << Str(node["country"]) << ")\n"
              << "key:         " << Str(node["key"]) << "\n"
              << "fingerprint: " << Str(node["fingerprint"]) << "\n"
              << "uptime:      "
              << HumanDuration(d.value("uptime_seconds", int64_t{0})) << "\n"
              << "indicators:  " << Str(counts["indicators"]) << " ("
              << Str(counts["own"]) << " own, " << Str(counts["received"])
              << " received, " << Str(counts["quarantined"])
              << " quarantined)\n"
              << "records:     " << Str(counts["records"]) << "\n"
              << "policy:      " << Str(policy["state"]) << ", "
              << Str(policy["files"]) << " files, loaded "
              << Str(policy["loaded_at"]) << "\n";
    if (d.contains("hub") && d["hub"].value("enabled", false)) {
      std::cout << "hub:         " << Str(d["hub"]["queued_envelopes"])
                << " sealed envelopes queued ("
                << Str(d["hub"]["queued_bytes"]) << " bytes)\n";
    }
    if (d.contains("hub_delays") && d["hub_delays"].is_array()) {
      ShowHubDelays(d["hub_delays"]);
    }
    if (!policy["last_error"].is_null()) {
      std::cout << "policy error (running set kept):\n"
                << Str(policy["last_error"]) << "\n";
    }
    if (!d["peers"].empty()) {
      std::cout << "\n";
      ShowPeers(d["peers"]);
    }
  }
  // Like `systemctl is-active`: monitoring reads the exit code. With --json
  // exit 0 says the document is whole; its health.state says the rest.
  if (global.json) return 0;
  const auto health = d.value("health", nlohmann::json::object());
  return health.value("state", std::string("ok")) == "ok" ? 0 : 1;
}

int RunKeyShow(const GlobalOptions& global, bool invite) {
  return CallAndShow(
      global,
      [](Request::Builder r) { r.setKeyShow(); },
      [invite](const nlohmann::json& d) {
        if (invite) {
          std::cout << InviteText(d);
          return;
        }
        std::cout << Str(d["key"]) << "\n"
                  << "fingerprint: " << Str(d["fingerprint"]) << "\n";
      });
}

int RunKeyRotate(const GlobalOptions& global, bool link) {
  return CallAndShow(
      global, [link](Request::Builder r) { r.initKeyRotate().setLink(link); },
      [link](const nlohmann::json& d) {
        if (!link) {
          std::cout << "identity key rotated: " << d.value("old_fingerprint", std::string())
                    << " -> " << d.value("new_fingerprint", std::string()) << "\n"
                    << "new key: " << d.value("new_key", std::string()) << "\n"
                    << "old key kept in " << d.value("retired_key_file", std::string())
                    << "\n"
                    << "caravand reloads under the new key; peers learn it from the "
                       "rotation statement (confirm the new fingerprint with them out of "
                       "band)\n";
          return;
        }
        std::cout << "link key rotated: serial " << d.value("old_serial", uint64_t{0})
                  << " -> " << d.value("serial", uint64_t{0}) << " (" << d.value("path", std::string())
                  << ")\n"
                  << "links re-handshake with the new key; peers need no roster change\n";
      });
}

int RunRevoke(const GlobalOptions& global, const RevokeOptions& o) {
  return CallAndShow(
      global,
      [&](Request::Builder r) {
        auto rv = r.initRevoke();
        rv.setId(Text(o.id));
        rv.setReason(Text(o.reason));
        if (o.value.size() == 2) {
          rv.setType(Text(o.value[0]));
          rv.setValue(Text(o.value[1]));
        }
      },
      [](const nlohmann::json& d) {
        std::cout << "revoked " << Str(d["id"]) << " (revision "
                  << Str(d["revision"]) << ")\n";
      });
}

int RunSight(const GlobalOptions& global, const std::string& target,
             const std::string& note) {
  return CallAndShow(
      global,
      [&](Request::Builder r) {
        auto s = r.initSight();
        s.setTarget(Text(target));
        s.setNote(Text(note));
      },
      [](const nlohmann::json& d) {
        std::cout << "sighting recorded for " << Str(d["id"]) << "\n";
      });
}

int RunAudit(const GlobalOptions& global, const AuditOptions& o) {
  int64_t since = 0, until = 0;
  for (auto [flag, text, out] :
       {std::tuple{"--since", &o.since, &since},
        std::tuple{"--until", &o.until, &until}}) {
    if (text->empty()) continue;
    auto t = protocol::ParseTime(*text, std::time(nullptr));
    if (!t.ok()) {
      return Fail(InvalidInput(std::string(flag) + ": '" + *text +
                               "' is not a time or duration"));
    }
    *out = *t;
  }
  // The log may hold millions of entries: ask for it a page at a time and
  // print each page as it comes, so memory stays bounded. --json is still
  // one document ({"entries": [...]}), written incrementally.
  constexpr uint32_t kAuditPage = 1000;
  uint64_t after = o.after_seq;
  uint64_t printed = 0;
  bool first = true;  // no entry printed yet
  if (global.json) {
    std::cout << "{\"entries\": [";
  } else {
    std::cout << AuditHeader();
  }
  for (;;) {
    uint32_t want = kAuditPage;
    if (o.limit != 0) {
      want = static_cast<uint32_t>(std::min<uint64_t>(want, o.limit - printed));
    }
    capnp::MallocMessageBuilder message;
    auto a = message.initRoot<Request>().initAudit();
    a.setSince(since);
    a.setPeer(Text(o.peer));
    a.setUntil(until);
    a.setAction(Text(o.action));
    a.setIdPrefix(Text(o.id));
    a.setLimit(want);
    a.setAfterSeq(after);
    auto doc = CallForJson(global, message);
    if (!doc.ok()) {
      // Half a document is not JSON: close it so stdout stays parsable,
      // and let the exit code and stderr say it is incomplete.
      if (global.json) std::cout << "]}\n" << std::flush;
      return Fail(doc.status());
    }
    for (const auto& e : (*doc)["entries"]) {
      if (global.json) {
        std::cout << (first ? "\n" : ",\n") << e.dump();
      } else {
        std::cout << AuditRow(e);
      }
      first = false;
      ++printed;
    }
    const auto& next = (*doc)["next"];
    if (next.is_null() || (o.limit != 0 && printed >= o.limit)) break;
    after = next.get<uint64_t>();
  }
  if (global.json) std::cout << "\n]}\n";
  std::cout << std::flush;
  return 0;
}

int RunAuditVerify(const GlobalOptions& global) {
  return CallAndShow(
      global, [](Request::Builder r) { r.setAuditVerify(); },
      [](const nlohmann::json& d) {
        std::cout << "audit chain intact: " << Str(d["entries"])
                  << " entries\n";
      });
}

int RunPolicyCheck(const GlobalOptions& global, const std::string& dir) {
  // Works without a daemon: caravand's own loader checks the files.
  std::vector<std::string> args = {"--check-policy", dir};
  if (global.json) args.push_back("--json");
  Status s = RunSiblingBinary("caravand", args);
  if (!s.ok()) return s.code() == StatusCode::kInvalidInput ? 4 : Fail(s);
  return 0;
}

int RunPolicyReload(const GlobalOptions& global) {
  return CallAndShow(
      global, [](Request::Builder r) { r.setPolicyReload(); },
      [](const nlohmann::json& d) {
        std::cout << "policy reloaded: " << Str(d["files"]) << " files\n";
      });
}

// "kz.toml:5 outbound.max_tlp", or the key alone for a built-in rule
// (file null).
std::string RuleText(const nlohmann::json& rule) {
  if (rule["file"].is_null() || Str(rule["file"]).empty()) {
    return Str(rule["key"]);
  }
  return Str(rule["file"]) + ":" + Str(rule["line"]) + " " + Str(rule["key"]);
}

int RunPolicyExplain(const GlobalOptions& global, const ExplainOptions& o) {
  if (o.to.empty() == o.from.empty()) {
    std::cerr << "caravan: policy explain needs exactly one of --to CC or "
                 "--from CC\n";
    return 2;
  }
  capnp::MallocMessageBuilder message;
  auto e = message.initRoot<Request>().initPolicyExplain();
  e.setDirection(o.to.empty()
                     ? protocol::wire::Explain::Direction::INBOUND
                     : protocol::wire::Explain::Direction::OUTBOUND);
  e.setCountry(Text(o.to.empty() ? o.from : o.to));
  if (o.value.empty()) {
    // One argument: a stored indicator's id.
    e.setId(Text(o.type));
  } else {
    Status s = FillSubmission(e.initIndicator(), o.context, o.type, o.value, 0);
    if (!s.ok()) return Fail(s);
  }
  auto doc = CallForJson(global, message);
  if (!doc.ok()) return Fail(doc.status());
  if (global.json) {
    PrintJson(*doc);
  } else {
    const auto& d = *doc;
    std::cout << Str(d["decision"]) << "\n"
              << "  rule:   " << RuleText(d["rule"]) << "\n"
              << "  reason: " << Str(d["reason"]) << "\n"
              << "  scope:  " << Str(d["scope_file"]) << "\n";
    if (d.contains("redact") && !d["redact"].empty()) {
      std::cout << "  redact: " << d["redact"].dump() << "\n";
    }
    if (d.contains("retry_at") && !d["retry_at"].is_null()) {
      std::cout << "  retry:  " << Str(d["retry_at"]) << "\n";
    }
    // With an id: what each peer of that country gets now, given what it
    // holds (a holder may get the update, a withdrawal, or nothing).
    if (d.contains("peers") && !d["id"].is_null()) {
      for (const auto& p : d["peers"]) {
        std::cout << "  peer " << Str(p["name"]) << " (holds "
                  << (p["holds_revision"].is_null()
                          ? std::string("nothing")
                          : "revision " + Str(p["holds_revision"]))
                  << "): " << Str(p["decision"]) << " by "
                  << RuleText(p["rule"]) << "\n";
      }
    }
  }
  return 0;
}

int RunPeersList(const GlobalOptions& global) {
  return CallAndShow(
      global, [](Request::Builder r) { r.setPeersList(); },
      [](const nlohmann::json& d) { ShowPeers(d["peers"]); });
}

int RunPeersAdd(const GlobalOptions& global, const PeerAddOptions& o) {
  return CallAndShow(
      global,
      [&](Request::Builder r) {
        auto p = r.initPeersAdd();
        p.setName(Text(o.name));
        p.setCountry(Text(o.country));
        p.setKey(Text(o.key));
        p.setEndpoint(Text(o.endpoint));
        p.setVia(Text(o.via));
      },
      [](const nlohmann::json& d) {
        std::cout << "added " << Str(d["name"]) << " (" << Str(d["country"])
                  << "), fingerprint " << Str(d["fingerprint"]);
        if (d.contains("via") && d["via"].is_string()) {
          std::cout << ", via " << Str(d["via"]);
        }
        std::cout << "\n";
      });
}

int RunQuarantineList(const GlobalOptions& global) {
  return CallAndShow(
      global, [](Request::Builder r) { r.setQuarantineList(); },
      [](const nlohmann::json& d) {
        Table table({"ID", "TYPE", "VALUE", "TLP", "FROM", "CREATED",
                     "REASON"});
        for (const auto& i : d["indicators"]) {
          table.AddRow({Str(i["id"]), Str(i["type"]), Str(i["value"]),
                        Str(i["tlp"]), Str(i["received_from"]),
                        Str(i["created"]),
                        i.value("quarantine_reason", std::string("-"))});
        }
        table.Print(std::cout);
      });
}

int RunQuarantineDecide(const GlobalOptions& global,
                        const QuarantineDecideOptions& o) {
  return CallAndShow(
      global,
      [&](Request::Builder r) {
        auto q = r.initQuarantineDecide();
        auto ids = q.initIds(static_cast<unsigned>(o.ids.size()));
        for (unsigned i = 0; i < o.ids.size(); ++i) ids.set(i, Text(o.ids[i]));
        if (o.all) q.setAllFrom(Text(o.from));
        q.setApprove(o.approve);
      },
      [&o](const nlohmann::json& d) {
        for (const auto& id : d["ids"]) {
          std::cout << (o.approve ? "approved " : "rejected ") << Str(id)
                    << "\n";
        }
      });
}

}  // namespace caravan::tools
