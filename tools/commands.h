#pragma once
// The `caravan` subcommands. Each Run* function does one command and returns
// the process exit code; caravan_main.cc parses the command line into these
// option structs.

#include <cstdint>
#include <string>
#include <vector>

#include "tools/cli.h"

namespace caravan::tools {

struct InitOptions {
  std::string dir, name, country, peer_listen, taxii_listen, control;
};
int RunInit(const GlobalOptions& global, const InitOptions& options);

// Context given with `submit`, single or bulk (bulk: defaults for lines that
// do not say).
struct SubmitContext {
  std::string type, tlp, description, valid_until, reshare;
  int confidence = -1;
  std::vector<std::string> tags;
};
struct SubmitOptions {
  std::string value;        // single: VALUE (TYPE is context.type)
  std::string file;         // bulk: PATH or "-"
  std::string format;       // bulk: txt|csv|jsonl (empty: from extension)
  bool print_ids = false;   // bulk: "LINE<TAB>ID" on stdout as stored
  bool force = false;       // store even when a warninglist matches
  bool replace = false;     // a known value: replace, do not merge
  SubmitContext context;
};
int RunSubmit(const GlobalOptions& global, const SubmitOptions& options);

// The most `query --limit` takes: the daemon's page bound
// (store::kMaxQueryLimit); further pages come with --after.
inline constexpr uint64_t kMaxQueryPage = 10000;

struct QueryOptions {
  std::string value, type, origin, tag, since, cidr;
  bool include_revoked = false;
  uint64_t limit = 0;  // 0: the daemon's default (100); at most kMaxQueryPage
  std::string after;   // --after: the cursor a previous page ended with
};
int RunQuery(const GlobalOptions& global, const QueryOptions& options);
int RunShow(const GlobalOptions& global, const std::string& id);

struct ExportOptions {
  std::string format, type, max_tlp, origin, tag, since;
  std::string output;  // --format misp: a feed directory instead of stdout
  bool include_revoked = false;
  bool include_removed = false;  // records of members removed from the roster
};
int RunExport(const GlobalOptions& global, const ExportOptions& options);

int RunStatus(const GlobalOptions& global);
// `invite`: the `caravan peers add` line for the other side instead
// (tools/invite.h).
int RunKeyShow(const GlobalOptions& global, bool invite = false);
// `caravan key rotate --link` (identity rotation is not implemented yet).
int RunKeyRotate(const GlobalOptions& global, bool link);

// `caravan key export --encrypted FILE` / `caravan key import FILE`
// (tools/cmd_key_backup.cc).
struct KeyBackupOptions {
  std::string file;             // the backup
  std::string passphrase_file;  // empty: ask on the terminal
  bool force = false;           // import: overwrite existing key files
};
int RunKeyExport(const GlobalOptions& global, const KeyBackupOptions& o);
int RunKeyImport(const GlobalOptions& global, const KeyBackupOptions& o);
struct RevokeOptions {
  std::string id;                  // an id or a unique prefix of one
  std::vector<std::string> value;  // --value TYPE VALUE instead of an id
  std::string reason;
};
int RunRevoke(const GlobalOptions& global, const RevokeOptions& options);
int RunSight(const GlobalOptions& global, const std::string& target,
             const std::string& note);

struct AuditOptions {
  std::string since, until, peer;
  std::string action;     // only this action
  std::string id;         // only subjects starting with this id prefix
  uint64_t after_seq = 0;  // only entries after this seq
  uint64_t limit = 0;      // at most this many entries in all; 0: every one
};
int RunAudit(const GlobalOptions& global, const AuditOptions& options);
int RunAuditVerify(const GlobalOptions& global);

// `caravan report` (docs/report.md).
struct ReportOptions {
  std::string since = "30d";  // RFC 3339 or a duration back from now
  std::string until;          // the same; empty: now
  std::string html;           // write one self-contained HTML file here
};
int RunReport(const GlobalOptions& global, const ReportOptions& options);

int RunPolicyCheck(const GlobalOptions& global, const std::string& dir);
int RunPolicyReload(const GlobalOptions& global);
struct ExplainOptions {
  std::string to, from, type, value;
  SubmitContext context;
};
int RunPolicyExplain(const GlobalOptions& global, const ExplainOptions& o);

struct PeerAddOptions {
  std::string name, country, key, endpoint;
  std::string via;  // hub mode: reached only through this member (a hub)
};
int RunPeersList(const GlobalOptions& global);
int RunPeersAdd(const GlobalOptions& global, const PeerAddOptions& options);
// `peers remove NAME [--purge [--yes]]` and `peers compromised NAME
// --since TIME` (tools/cmd_member_trust.cc, issue 16).
struct PeerRemoveOptions {
  std::string name;
  bool purge = false;
  bool yes = false;  // --purge without asking
};
int RunPeersRemove(const GlobalOptions& global, const PeerRemoveOptions& o);
struct PeerCompromisedOptions {
  std::string name;
  std::string since;  // RFC 3339 or a duration back from now
};
int RunPeersCompromised(const GlobalOptions& global,
                        const PeerCompromisedOptions& o);
// `caravan key compromised --since TIME [--key FINGERPRINT]`: one of our
// retired identity keys (the one retired last without --key).
int RunKeyCompromised(const GlobalOptions& global, const std::string& since,
                      const std::string& key);

int RunQuarantineList(const GlobalOptions& global);
struct QuarantineDecideOptions {
  std::vector<std::string> ids;  // ids or unique prefixes
  bool all = false;              // --all --from PEER instead of ids
  std::string from;
  bool approve = false;
};
int RunQuarantineDecide(const GlobalOptions& global,
                        const QuarantineDecideOptions& options);

}  // namespace caravan::tools
