// Node administration commands: status, key, revoke, sight, audit, policy,
// peers, quarantine. Each sends one typed request and shows the JSON reply.
#include <algorithm>
#include <ctime>
#include <iterator>
#include <iostream>

#include "protocol/time_text.h"
#include "tools/commands.h"
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

// One row of `caravan audit` for people. Pages arrive one after another,
// so columns have fixed minimum widths instead of the widest cell.
std::string AuditLine(const std::vector<std::string>& cells) {
  static constexpr size_t kWidths[] = {7, 20, 12, 10, 64};
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    line += cells[i];
    if (i + 1 == cells.size()) break;
    const size_t width = i < std::size(kWidths) ? kWidths[i] : 0;
    line.append(cells[i].size() < width ? width - cells[i].size() : 0, ' ');
    line += "  ";
  }
  return line + "\n";
}

// The DETAIL cell of `caravan audit` for people. A batch entry lists up to
// about 400 records (docs/audit.md); one line of 48 KB helps nobody, so
// the list is summed up here and printed whole only with --json.
std::string AuditDetailText(const nlohmann::json& detail) {
  if (detail.is_string()) return detail.get<std::string>();
  if (detail.is_object() && detail.contains("records") &&
      detail["records"].is_array() && detail["records"].size() > 1) {
    nlohmann::json brief = detail;
    brief["records"] = std::to_string(detail["records"].size()) +
                       " records, listed with --json";
    return brief.dump();
  }
  return detail.dump();
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
  return cell;
}

// ENDPOINT says how a member is reached: dialed there, through a hub
// ("via HUB"), or "-" (it dials us). On a hub, HUB QUEUE is what the hub
// holds for the member: sealed envelopes and their bytes. For members
// reached via a hub, SEALED is our batches the hub holds ("at hub") and
// those the member has not receipted yet, and any faults its chain to us
// showed (gaps, duplicates, refused envelopes).
void ShowPeers(const nlohmann::json& peers) {
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
  std::vector<std::string> header = {"NAME", "COUNTRY", "ENDPOINT", "LINK",
                                     "LAST CONTACT", "BACKLOG", "SENT",
                                     "RECEIVED"};
  if (hub) header.push_back("HUB QUEUE");
  if (sealed) header.push_back("SEALED");
  header.push_back("FINGERPRINT");
  Table table(header);
  for (const auto& p : peers) {
    const bool via = p.contains("via") && p["via"].is_string();
    std::vector<std::string> row = {
        Str(p["name"]),         Str(p["country"]),
        via ? "via " + Str(p["via"]) : Str(p["endpoint"]),
        Str(p["link"]),         Str(p["last_contact"]),
        Str(p["backlog"]),      Str(p["bytes_sent"]),
        Str(p["bytes_received"])};
    if (hub) {
      row.push_back(Str(p["hub_queued_envelopes"]) + " (" +
                    Str(p["hub_queued_bytes"]) + " B)");
    }
    if (sealed) row.push_back(SealedCell(p));
    row.push_back(Str(p["fingerprint"]));
    table.AddRow(row);
  }
  table.Print(std::cout);
}

}  // namespace

int RunStatus(const GlobalOptions& global) {
  return CallAndShow(
      global, [](Request::Builder r) { r.setStatus(); },
      [](const nlohmann::json& d) {
        const auto& node = d["node"];
        const auto& counts = d["counts"];
        const auto& policy = d["policy"];
        std::cout << "node:        " << Str(node["name"]) << " ("
                  << Str(node["country"]) << ")\n"
                  << "key:         " << Str(node["key"]) << "\n"
                  << "fingerprint: " << Str(node["fingerprint"]) << "\n"
                  << "uptime:      " << Str(d["uptime_seconds"]) << " s\n"
                  << "indicators:  " << Str(counts["indicators"]) << " ("
                  << Str(counts["own"]) << " own, " << Str(counts["received"])
                  << " received, "
                  << Str(counts["quarantined"]) << " quarantined)\n"
                  << "records:     " << Str(counts["records"]) << "\n"
                  << "policy:      " << Str(policy["state"]) << ", "
                  << Str(policy["files"]) << " files, loaded "
                  << Str(policy["loaded_at"]) << "\n";
        if (d.contains("hub") && d["hub"].value("enabled", false)) {
          std::cout << "hub:         " << Str(d["hub"]["queued_envelopes"])
                    << " sealed envelopes queued ("
                    << Str(d["hub"]["queued_bytes"]) << " bytes)\n";
        }
        if (!policy["last_error"].is_null()) {
          std::cout << "policy error (running set kept):\n"
                    << Str(policy["last_error"]) << "\n";
        }
        if (!d["peers"].empty()) {
          std::cout << "\n";
          ShowPeers(d["peers"]);
        }
      });
}

int RunKeyShow(const GlobalOptions& global) {
  return CallAndShow(
      global, [](Request::Builder r) { r.setKeyShow(); },
      [](const nlohmann::json& d) {
        std::cout << Str(d["key"]) << "\n"
                  << "fingerprint: " << Str(d["fingerprint"]) << "\n";
      });
}

int RunRevoke(const GlobalOptions& global, const std::string& id,
              const std::string& reason) {
  return CallAndShow(
      global,
      [&](Request::Builder r) {
        auto rv = r.initRevoke();
        rv.setId(Text(id));
        rv.setReason(Text(reason));
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
  int64_t since = 0;
  if (!o.since.empty()) {
    auto t = protocol::ParseTime(o.since, std::time(nullptr));
    if (!t.ok()) return Fail(InvalidInput("--since: '" + o.since +
                                          "' is not a time or duration"));
    since = *t;
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
    std::cout << AuditLine(
        {"SEQ", "TIME", "ACTOR", "ACTION", "SUBJECT", "DETAIL"});
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
        std::cout << AuditLine({Str(e["seq"]), Str(e["time"]), Str(e["actor"]),
                                Str(e["action"]), Str(e["subject"]),
                                AuditDetailText(e["detail"])});
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

int RunPeersRemove(const GlobalOptions& global, const std::string& name) {
  return CallAndShow(
      global, [&](Request::Builder r) { r.setPeersRemove(Text(name)); },
      [](const nlohmann::json& d) {
        std::cout << "removed " << Str(d["name"]) << "\n";
      });
}

int RunQuarantineList(const GlobalOptions& global) {
  return CallAndShow(
      global, [](Request::Builder r) { r.setQuarantineList(); },
      [](const nlohmann::json& d) {
        Table table({"ID", "TYPE", "VALUE", "TLP", "FROM", "CREATED"});
        for (const auto& i : d["indicators"]) {
          table.AddRow({Str(i["id"]), Str(i["type"]), Str(i["value"]),
                        Str(i["tlp"]), Str(i["received_from"]),
                        Str(i["created"])});
        }
        table.Print(std::cout);
      });
}

int RunQuarantineDecide(const GlobalOptions& global, const std::string& id,
                        bool approve) {
  return CallAndShow(
      global,
      [&](Request::Builder r) {
        auto q = r.initQuarantineDecide();
        q.setId(Text(id));
        q.setApprove(approve);
      },
      [approve](const nlohmann::json& d) {
        std::cout << (approve ? "approved " : "rejected ") << Str(d["id"])
                  << "\n";
      });
}

}  // namespace caravan::tools
