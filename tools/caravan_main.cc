// caravan: the operator's CLI for caravand. Parses the command line into
// the option structs of tools/commands.h and runs one command.
#include <CLI/CLI.hpp>
#include <iostream>

#include "build_info.h"
#include "tools/caravan_app.h"
#include "tools/cli_usage.h"
#include "tools/commands.h"

namespace caravan::tools {
namespace {

void AddContextFlags(CLI::App* cmd, SubmitContext& c) {
  cmd->add_option("--tlp", c.tlp, "TLP: clear, green, amber, amber+strict, red");
  cmd->add_option("--confidence", c.confidence, "0 to 100")
      ->check(CLI::Range(0, 100));
  cmd->add_option("--tag", c.tags, "tag (repeatable)");
  cmd->add_option("--description", c.description, "free text");
  cmd->add_option("--valid-until", c.valid_until,
                  "RFC 3339 time, or a duration from now (30d)");
  cmd->add_option("--reshare", c.reshare, "none, direct or federation");
}

// The exit code table of docs/cli.md, for `caravan --help`.
constexpr const char* kExitCodesFooter =
    "Exit codes:\n"
    "  0  ok (status: the node is healthy)\n"
    "  1  failure: the daemon or its store failed (status: degraded)\n"
    "  2  usage error: unknown command or option, missing argument\n"
    "  3  not found\n"
    "  4  rejected input: validation or policy (also an ambiguous id "
    "prefix)\n"
    "  5  caravand unreachable, or it did not answer within --timeout\n"
    "\n"
    "'caravan help CMD' or 'caravan CMD --help' for one command.";

}  // namespace

int CaravanMain(int argc, const char* const* argv,
                const std::function<void(const CLI::App&)>& before_parse) {
  CLI::App app{"caravan: share threat indicators between national CERTs",
               "caravan"};
  app.require_subcommand(1);
  app.footer(kExitCodesFooter);
  // Global flags are accepted after the subcommand too (`caravan query
  // --json`), as scripts write them.
  app.fallthrough();
  app.set_version_flag("--version",
                       std::string("caravan ") + caravan::build::kVersionLine);
  GlobalOptions global;
  app.add_option("--config", global.config,
                 "caravand.toml (default: $CARAVAN_CONFIG, then "
                 "/etc/caravan/caravand.toml)");
  app.add_flag("--json", global.json, "one JSON document on stdout");
  app.add_option("--timeout", global.timeout,
                 "give up on caravand after this long per request (default "
                 "5m); a request not started by then is never run");
  std::function<int()> run;

  InitOptions init;
  auto* init_cmd = app.add_subcommand("init", "create a new node in DIR");
  init_cmd->add_option("DIR", init.dir, "directory for the new node (created)")
      ->required();
  init_cmd->add_option("--name", init.name, "node name")->required();
  init_cmd->add_option("--country", init.country, "ISO 3166-1 alpha-2")
      ->required();
  init_cmd->add_option("--peer-listen", init.peer_listen, "HOST:PORT");
  init_cmd->add_option("--taxii-listen", init.taxii_listen, "HOST:PORT");
  init_cmd->add_option("--control", init.control, "control socket path");
  init_cmd->callback([&] { run = [&] { return RunInit(global, init); }; });

  auto* key_cmd = app.add_subcommand("key", "this node's identity and link keys");
  key_cmd->require_subcommand(1);
  bool key_invite = false;
  auto* key_show_cmd =
      key_cmd->add_subcommand("show", "key text and fingerprint");
  key_show_cmd->add_flag("--invite", key_invite,
                         "print the `caravan peers add` line for the other "
                         "side");
  key_show_cmd->callback([&] {
    run = [&] { return RunKeyShow(global, key_invite); };
  });
  bool rotate_link = false;
  auto* rotate_cmd = key_cmd->add_subcommand(
      "rotate",
      "replace the identity key (peers learn it from a statement signed by the old and "
      "the new key), or with --link the link key");
  rotate_cmd->add_flag("--link", rotate_link,
                       "rotate the link key (Noise), certified by the identity key");
  rotate_cmd->callback([&] { run = [&] { return RunKeyRotate(global, rotate_link); }; });
  std::string key_compromised_since;
  std::string key_compromised_key;
  auto* key_compromised_cmd = key_cmd->add_subcommand(
      "compromised",
      "after `key rotate`: distrust a retired identity key for records since TIME "
      "(quarantined here, and at the peers that got them)");
  key_compromised_cmd
      ->add_option("--since", key_compromised_since,
                   "records created at or after this: RFC 3339 time or 2h, 30d")
      ->required();
  key_compromised_cmd->add_option(
      "--key", key_compromised_key,
      "which retired key (fingerprint or caravan:... key text); default: the one retired last");
  key_compromised_cmd->callback([&] {
    run = [&] { return RunKeyCompromised(global, key_compromised_since, key_compromised_key); };
  });
  KeyBackupOptions key_export;
  auto* export_key_cmd = key_cmd->add_subcommand(
      "export", "write the identity and link keys to a passphrase-encrypted file");
  export_key_cmd
      ->add_option("--encrypted", key_export.file,
                   "the backup file to create (mode 0600; never overwritten)")
      ->required();
  export_key_cmd->add_option("--passphrase-file", key_export.passphrase_file,
                             "read the passphrase from this file's first line "
                             "(default: ask on the terminal)");
  export_key_cmd->callback([&] { run = [&] { return RunKeyExport(global, key_export); }; });
  KeyBackupOptions key_import;
  auto* import_key_cmd = key_cmd->add_subcommand(
      "import", "restore the identity and link keys from an encrypted backup");
  import_key_cmd->add_option("FILE", key_import.file, "a file from caravan key export")
      ->required();
  import_key_cmd->add_option("--passphrase-file", key_import.passphrase_file,
                             "read the passphrase from this file's first line "
                             "(default: ask on the terminal)");
  import_key_cmd->add_flag("--force", key_import.force,
                           "overwrite this node's existing key files");
  import_key_cmd->callback([&] { run = [&] { return RunKeyImport(global, key_import); }; });

  app.add_subcommand("status",
                     "health headline, node, counts, peers, policy state")
      ->footer(
          "The first line is 'ok' or 'degraded: <reasons>'; the exit code "
          "is 0 for ok and 1 for degraded, like 'systemctl is-active'. "
          "With --json it is 0 and health.state says ok or degraded.")
      ->callback([&] { run = [&] { return RunStatus(global); }; });

  SubmitOptions submit;
  std::vector<std::string> submit_args;
  auto* submit_cmd = app.add_subcommand(
      "submit", "submit TYPE VALUE, or a bulk file with --file");
  submit_cmd->add_option("ARGS", submit_args, "TYPE VALUE (or VALUE)");
  submit_cmd->add_option("--file", submit.file, "bulk file, - for stdin");
  submit_cmd->add_option("--format", submit.format,
                         "txt, csv, jsonl (ndjson), stix (bundle or TAXII "
                         "envelope) or misp (event, REST response or feed "
                         "directory); default from the file name");
  submit_cmd->add_option("--type", submit.context.type,
                         "indicator type (bulk: for lines without one)");
  submit_cmd->add_flag("--print-ids", submit.print_ids,
                       "bulk: print LINE<TAB>ID for each stored line");
  submit_cmd->add_flag("--force", submit.force,
                       "store even if it matches a warninglist (it is then "
                       "shared as usual)");
  submit_cmd->add_flag(
      "--replace", submit.replace,
      "a value already held gets exactly this submission as its new "
      "revision (tags, TLP, ... as given now; revives a revoked one). "
      "Without it a known value is merged: stricter TLP and reshare, union "
      "of tags, later valid-until and last-seen (docs/policy.md)");
  AddContextFlags(submit_cmd, submit.context);
  submit_cmd->callback([&] {
    run = [&]() -> int {
      if (submit.file.empty()) {
        if (submit_args.size() == 2) {
          submit.context.type = submit_args[0];
          submit.value = submit_args[1];
        } else if (submit_args.size() == 1) {
          submit.value = submit_args[0];
        } else {
          std::cerr << "caravan: submit needs TYPE VALUE, VALUE, or --file\n";
          return 2;
        }
      } else if (!submit_args.empty()) {
        std::cerr << "caravan: submit takes either --file or a value\n";
        return 2;
      }
      return RunSubmit(global, submit);
    };
  });

  QueryOptions query;
  auto* query_cmd = app.add_subcommand("query", "search indicators");
  query_cmd->add_option("VALUE", query.value, "value, may be defanged");
  query_cmd->add_option("--type", query.type,
                        "only this type (ipv4, domain, url, sha256, ...)");
  query_cmd->add_option("--origin", query.origin, "origin country");
  query_cmd->add_option("--tag", query.tag, "only indicators with this tag");
  query_cmd->add_option("--since", query.since, "RFC 3339 time or 2h, 30d");
  query_cmd->add_option("--cidr", query.cidr, "network: what is inside it");
  query_cmd->add_flag("--include-revoked", query.include_revoked,
                      "also revoked indicators");
  query_cmd
      ->add_option("--limit", query.limit,
                   "at most N indicators per page (default 100, at most "
                   "10000)")
      ->check(CLI::NonNegativeNumber);
  query_cmd->add_option("--after", query.after,
                        "the next page: the cursor the previous one printed");
  query_cmd->callback([&] { run = [&] { return RunQuery(global, query); }; });

  std::string show_id;
  auto* show_cmd = app.add_subcommand("show", "every revision of one indicator");
  show_cmd->add_option("ID", show_id, "indicator id, or a unique prefix of it")
      ->required();
  show_cmd->callback([&] { run = [&] { return RunShow(global, show_id); }; });

  RevokeOptions revoke;
  auto* revoke_cmd = app.add_subcommand(
      "revoke", "signed revocation of ID, or of --value TYPE VALUE");
  auto* revoke_id_opt = revoke_cmd->add_option(
      "ID", revoke.id, "indicator id, or a unique prefix of it");
  revoke_cmd
      ->add_option("--value", revoke.value,
                   "TYPE VALUE: this node's indicator of that value")
      ->expected(2)
      ->excludes(revoke_id_opt);
  revoke_cmd
      ->add_option("--reason", revoke.reason,
                   "why: sent with the revocation to every holder")
      ->required();
  revoke_cmd->callback([&] {
    run = [&]() -> int {
      if (revoke.id.empty() && revoke.value.empty()) {
        std::cerr << "caravan: revoke needs an ID or --value TYPE VALUE\n";
        return 2;
      }
      return RunRevoke(global, revoke);
    };
  });

  std::string sight_target, sight_note;
  auto* sight_cmd = app.add_subcommand("sight", "record a sighting");
  sight_cmd->add_option("TARGET", sight_target, "value or id")->required();
  sight_cmd->add_option("--note", sight_note, "free text kept with the sighting");
  sight_cmd->callback([&] {
    run = [&] { return RunSight(global, sight_target, sight_note); };
  });

  AuditOptions audit;
  auto* audit_cmd = app.add_subcommand("audit", "the audit log");
  audit_cmd->add_option("--since", audit.since, "TIME or duration (2h)");
  audit_cmd->add_option("--until", audit.until,
                        "only entries up to this TIME or duration ago (1d)");
  audit_cmd->add_option("--peer", audit.peer, "only entries naming this peer");
  audit_cmd->add_option("--action", audit.action,
                        "only this action (share, revoke, defer, ...)");
  audit_cmd->add_option("--id", audit.id,
                        "only entries about this indicator (id or a prefix "
                        "of 6+ hex digits)");
  // Unsigned options would wrap "-3" to a huge number: refuse it instead.
  audit_cmd
      ->add_option("--after-seq", audit.after_seq,
                   "only entries with a larger seq (resume)")
      ->check(CLI::NonNegativeNumber);
  audit_cmd
      ->add_option("--limit", audit.limit,
                   "at most N entries (default: all, fetched in pages)")
      ->check(CLI::NonNegativeNumber);
  audit_cmd->add_subcommand("verify", "check the hash chain")->callback([&] {
    run = [&] { return RunAuditVerify(global); };
  });
  audit_cmd->callback([&] {
    if (!run) run = [&] { return RunAudit(global, audit); };
  });

  ReportOptions report;
  auto* report_cmd = app.add_subcommand(
      "report", "sovereignty report: what left, was held back, arrived");
  report_cmd->add_option("--since", report.since,
                         "start: RFC 3339 time or duration ago (default 30d)");
  report_cmd->add_option("--until", report.until,
                         "end: RFC 3339 time or duration ago (default now)");
  report_cmd->add_option("--html", report.html,
                         "write one self-contained HTML file to FILE");
  report_cmd->callback([&] { run = [&] { return RunReport(global, report); }; });

  ExportOptions exp;
  auto* export_cmd = app.add_subcommand("export", "indicators to stdout");
  export_cmd->add_option("--format", exp.format,
                         "csv, jsonl, plain (or txt), stix or misp")
      ->required();
  export_cmd->add_option("--output", exp.output,
                         "misp only: write a MISP feed directory "
                         "(manifest.json + one event per origin) here");
  export_cmd->add_option("--type", exp.type, "only this indicator type");
  export_cmd->add_option("--max-tlp", exp.max_tlp,
                         "leave out anything above this TLP");
  export_cmd->add_option("--origin", exp.origin, "only this origin country");
  export_cmd->add_option("--tag", exp.tag, "only indicators with this tag");
  export_cmd->add_option("--since", exp.since,
                         "created since: RFC 3339 time or 2h, 30d");
  export_cmd->add_flag("--include-revoked", exp.include_revoked,
                       "also revoked indicators");
  export_cmd->add_flag("--include-removed", exp.include_removed,
                       "also records of members removed from the roster");
  export_cmd->callback([&] { run = [&] { return RunExport(global, exp); }; });

  auto* policy_cmd = app.add_subcommand("policy", "sharing policies");
  policy_cmd->require_subcommand(1);
  std::string check_dir;
  auto* check_cmd = policy_cmd->add_subcommand("check", "validate policy files");
  check_cmd->add_option("DIR", check_dir, "default: the node's policy dir");
  check_cmd->callback([&] {
    run = [&] { return RunPolicyCheck(global, check_dir); };
  });
  policy_cmd->add_subcommand("reload", "apply edited policy files")
      ->callback([&] { run = [&] { return RunPolicyReload(global); }; });
  ExplainOptions explain;
  auto* explain_cmd =
      policy_cmd->add_subcommand("explain", "the decision for one indicator");
  explain_cmd->add_option(
      "TYPE", explain.type,
      "indicator type, or the 64-hex id of a stored indicator (then what "
      "the sender would do now, per peer)")->required();
  explain_cmd->add_option("VALUE", explain.value,
                          "the value (omitted with an id)");
  explain_cmd->add_option("--to", explain.to, "recipient country");
  explain_cmd->add_option("--from", explain.from, "sender country (inbound)");
  AddContextFlags(explain_cmd, explain.context);
  explain_cmd->callback([&] {
    run = [&] { return RunPolicyExplain(global, explain); };
  });

  auto* peers_cmd = app.add_subcommand("peers", "federation peers");
  peers_cmd->require_subcommand(1);
  peers_cmd->add_subcommand("list", "peers and link state")->callback([&] {
    run = [&] { return RunPeersList(global); };
  });
  PeerAddOptions peer_add;
  auto* add_cmd = peers_cmd->add_subcommand("add", "add a roster member");
  add_cmd->add_option("NAME", peer_add.name, "the peer's name on this node")
      ->required();
  add_cmd->add_option("--country", peer_add.country,
                      "its country, ISO 3166-1 alpha-2 (KZ)")
      ->required();
  add_cmd->add_option("--key", peer_add.key, "caravan:... key text")
      ->required();
  auto* endpoint_opt =
      add_cmd->add_option("--endpoint", peer_add.endpoint, "HOST:PORT");
  add_cmd
      ->add_option("--via", peer_add.via,
                   "HUB: reached only through that direct member, sealed "
                   "(hub mode); never dialed")
      ->excludes(endpoint_opt);
  add_cmd->callback([&] { run = [&] { return RunPeersAdd(global, peer_add); }; });
  PeerRemoveOptions peer_remove;
  auto* remove_cmd = peers_cmd->add_subcommand(
      "remove", "remove a member (its records stay, signed, unless --purge)");
  remove_cmd->add_option("NAME", peer_remove.name, "the peer's name")
      ->required();
  remove_cmd->add_flag("--purge", peer_remove.purge,
                       "also delete its records, revisions and sightings "
                       "(audited with counts)");
  remove_cmd->add_flag("--yes", peer_remove.yes,
                       "with --purge: do not ask for confirmation");
  remove_cmd->callback([&] {
    run = [&] { return RunPeersRemove(global, peer_remove); };
  });
  PeerCompromisedOptions compromised;
  auto* compromised_cmd = peers_cmd->add_subcommand(
      "compromised",
      "distrust a member's identity key: quarantine its records since TIME "
      "and notify the peers that got them");
  compromised_cmd->add_option("NAME", compromised.name, "the member's name")
      ->required();
  compromised_cmd
      ->add_option("--since", compromised.since,
                   "records created at or after this: RFC 3339 time or 2h, 30d")
      ->required();
  compromised_cmd->callback([&] {
    run = [&] { return RunPeersCompromised(global, compromised); };
  });

  auto* quarantine_cmd =
      app.add_subcommand("quarantine", "received indicators held for review");
  quarantine_cmd->require_subcommand(1);
  quarantine_cmd->add_subcommand("list", "held indicators")->callback([&] {
    run = [&] { return RunQuarantineList(global); };
  });
  QuarantineDecideOptions decide;
  for (const char* verb : {"approve", "reject"}) {
    auto* cmd = quarantine_cmd->add_subcommand(
        verb, std::string(verb) + " ID..., or --all --from PEER");
    auto* ids_opt = cmd->add_option(
        "ID", decide.ids, "indicator ids, or unique prefixes of them");
    auto* all_opt = cmd->add_flag("--all", decide.all,
                                  "every indicator held from --from PEER")
                        ->excludes(ids_opt);
    cmd->add_option("--from", decide.from, "the peer, with --all")
        ->needs(all_opt);
    const bool approve = std::string(verb) == "approve";
    cmd->callback([&, approve] {
      run = [&, approve]() -> int {
        decide.approve = approve;
        if (decide.all == decide.from.empty() ||
            (decide.ids.empty() && !decide.all)) {
          std::cerr << "caravan: quarantine " << (approve ? "approve" : "reject")
                    << " needs IDs, or --all --from PEER\n";
          return 2;
        }
        return RunQuarantineDecide(global, decide);
      };
    });
  }

  // `caravan help [CMD...]`: the same text as `caravan CMD... --help`.
  std::vector<std::string> help_path;
  auto* help_cmd = app.add_subcommand(
      "help", "help for a command (the same as 'caravan CMD --help')");
  help_cmd->add_option("CMD", help_path, "the command, e.g. 'peers add'");
  help_cmd->callback([&] {
    run = [&]() -> int {
      auto command = FindCommand(app, help_path);
      if (!command.ok()) {
        std::cerr << "caravan: " << command.status().message() << "\n";
        return 2;
      }
      std::cout << CommandHelp(**command);
      return 0;
    };
  });

  if (before_parse) before_parse(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0) {
      // A mistyped command or option: name it and what was likely meant.
      std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
      if (auto message = UnknownWordMessage(app, args)) {
        std::cerr << "caravan: " << *message << "\n";
        return 2;
      }
    }
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;  // usage errors are exit 2 (CONTRACT.md)
  }
  return run ? run() : 2;
}

}  // namespace caravan::tools
