#pragma once
// Spool: ingestion of files that SIEM and SOAR tools drop into a directory
// (docs/spool.md). The directory holds
//   incoming/    where tools rename finished files into (rename(2) is
//                atomic, so a file is never seen half-written); a file
//                written in place is claimed only once its size and mtime
//                have not changed for `settle_time`
//   processing/  the file being ingested (claimed by rename from incoming/)
//   done/        files ingested; NAME.error beside one lists its bad lines
//   failed/      files of which nothing could be used, NAME.error says why
//   .state/      progress markers and report journals (spool_state.h)
// Only names that do not start with '.', do not end in .tmp or .part, hold
// no control character and are at most kMaxSpoolNameBytes long are taken
// from incoming/. Of those, a symbolic link, FIFO, socket or device node, or
// a regular file with more than one hard link (a link to a file the dropper
// could not read itself, such as a key file) is moved to failed/ with its
// reason and never read. Directories are left where they are.
//
// Each file is read as a stream (STIX and MISP JSON whole, bounded by the
// size limit), submitted in batches of `batch_lines` entries as actor
// "spool:NAME", and after each batch commits the report journal is synced
// and the progress marker rewritten. A restart resumes files left in
// processing/ after their last committed batch: nothing is lost, and a
// batch submitted twice (killed between commit and marker) is absorbed by
// the store, which treats unchanged content as already held.
//
// This class is the synchronous core: no threads, no timers (the service
// in spool_service.h drives it on the worker pool). One Spool per
// directory; RunOnce must not run concurrently with itself.

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "daemon/feeds/spool_state.h"
#include "protocol/formats/bulk_reader.h"
#include "protocol/status.h"

namespace caravan::feeds {

// Longer names are left in incoming/ (a numbered duplicate in done/ must
// still fit the 255-byte limit of a file name).
inline constexpr size_t kMaxSpoolNameBytes = 200;

// Submits items as `actor`; one error text per item ("" = stored or
// unchanged), in order. Blocks until the store commits. (The same shape as
// feeds::SubmitFn in taxii_handler.h.)
using SpoolSubmitFn = std::function<std::vector<std::string>(
    const std::vector<protocol::BulkItem>&, const std::string& actor)>;

// Records one audit event (actor, action, subject, detail JSON). Blocking;
// may be empty.
using SpoolAuditFn =
    std::function<void(const std::string& actor, const std::string& action,
                       const std::string& subject, const std::string& detail)>;

struct SpoolOptions {
  std::filesystem::path dir;
  uint64_t max_file_bytes = 256ull * 1024 * 1024;
  size_t batch_lines = 1000;
  // Report lines written per file; the rest are counted in one last line.
  size_t max_report_lines = 10000;
  // A regular file in incoming/ is claimed only after its inode, size and
  // mtime were seen unchanged for this long (protects writers that do not
  // rename into place). 0: claim at first sight.
  std::chrono::milliseconds settle_time{2000};
};

// The monotonic clock the settle time is measured on (tests pass a fake).
using SpoolClock = std::function<std::chrono::steady_clock::time_point()>;

// Bound on a reason quoted in a report line: the parsers quote at most 64
// bytes of the offending value, and nothing of a rejected line beyond this
// many bytes reaches a report, whatever the reason says.
inline constexpr size_t kMaxSpoolReasonBytes = 160;

// `reason` made safe for a one-line report: control bytes, backslash and
// DEL escaped as \xHH, cut at kMaxSpoolReasonBytes (never inside a UTF-8
// sequence or an escape) with "…(N bytes)" naming the whole length.
std::string BoundedSpoolReason(std::string_view reason);

// What happened to one file during RunOnce.
struct SpoolFileResult {
  std::string name;        // the name it was dropped under
  std::string final_path;  // "done/NAME" or "failed/NAME"; "" if interrupted
  std::string format;      // "txt", ..., "" if not detected
  uint64_t accepted = 0;   // entries stored or unchanged
  uint64_t rejected = 0;   // entries refused (listed in the report)
  bool failed = false;     // ended in failed/
  bool interrupted = false;  // stop requested: left in processing/ to resume
};

class Spool {
 public:
  // `submit` must be callable; `audit` may be empty.
  // `now` defaults to std::chrono::steady_clock::now.
  Spool(SpoolOptions options, SpoolSubmitFn submit, SpoolAuditFn audit = {},
        SpoolClock now = {});

  // Creates the directory and its subdirectories (mode 0750) where
  // missing. kUnavailable naming the directory on failure.
  Status Prepare();

  // Ingests everything pending: files an earlier run left in processing/
  // (resumed from their markers), then incoming/ oldest first, re-listing
  // until nothing more is ready (files still settling wait for a later
  // call). Returns once nothing is left or, between two
  // batches, as soon as `stop` is set. Problems with single files are
  // logged and end in their reports; only a bug or an OS failure throws.
  std::vector<SpoolFileResult> RunOnce(const std::atomic<bool>& stop);

  // Whether a name in incoming/ is taken (the rules above).
  static bool IsCandidateName(std::string_view name);

  const std::filesystem::path& dir() const { return options_.dir; }

 private:
  bool Claim(const std::string& name);
  SpoolFileResult Ingest(const std::string& name,
                         const std::atomic<bool>& stop);
  SpoolFileResult FinishFailed(const std::string& name,
                               const std::string& reason, SpoolProgress& p);
  SpoolFileResult Finish(const std::string& name, const std::string& dir,
                         SpoolProgress& p);
  // Redoes the moves a marker with final_dir set asks for; ok if done.
  Status CompleteMove(const std::string& name, const SpoolProgress& p);
  void RecoverFinishing();
  std::vector<std::string> ListIncoming();
  std::vector<std::string> ListProcessing();
  std::string UniqueName(const std::filesystem::path& dir,
                         const std::string& name) const;

  std::filesystem::path incoming() const { return options_.dir / "incoming"; }
  std::filesystem::path processing() const {
    return options_.dir / "processing";
  }
  std::filesystem::path state() const { return options_.dir / ".state"; }
  std::filesystem::path Marker(const std::string& name) const;
  std::filesystem::path Journal(const std::string& name) const;

  // Whether `name` in incoming/ (lstat'ed as `st`) has kept its inode,
  // link count, size and mtime for settle_time; records what it saw for the next call.
  bool Settled(const std::string& name, const struct stat& st,
               std::chrono::steady_clock::time_point now);

  // What a file in incoming/ looked like when first seen so, and since when.
  struct Sighting {
    uint64_t inode = 0;
    uint64_t links = 0;  // link(2)-into-place then unlink: 2, then 1
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    std::chrono::steady_clock::time_point since;
  };

  SpoolOptions options_;
  SpoolSubmitFn submit_;
  SpoolAuditFn audit_;
  SpoolClock now_;
  std::vector<std::string> warned_;  // names already logged as skipped
  // Files of incoming/ still settling; pruned to what the last listing saw,
  // and at most kMaxSpoolSightings entries (bounded memory).
  std::map<std::string, Sighting> sightings_;
};

inline constexpr size_t kMaxSpoolSightings = 100000;

}  // namespace caravan::feeds
