#pragma once
// Spool progress markers: the durable record of how far the ingestion of
// one spool file got, so that a daemon killed mid-file resumes after the
// last committed batch instead of starting over (docs/spool.md,
// "Crash safety").
//
// A marker lives at `<spool>/.state/<name>.progress` beside the file's
// report journal `<name>.report`. It is written after each batch commits
// (and after the journal is synced), always through a temporary file,
// fsync and rename(2), so a reader sees the old marker or the new one,
// never a mix. When the file is finished the marker first records where
// the file goes (`final_dir`/`final_name`); the moves are then redone
// from the marker if the daemon dies half-way through them.
//
// The text format is line-based `key value`, first line the magic
// "caravan-spool-progress 1"; ParseSpoolProgress is strict (an unknown or
// missing key, or a bad number, is an error) because a marker is only ever
// written by us. Pure functions except Read/Write, which touch one file.
// Thread-safe.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/status.h"

namespace caravan::feeds {

// A marker is tiny; anything larger is not ours.
inline constexpr size_t kMaxSpoolProgressBytes = 4096;

struct SpoolProgress {
  // Entries (lines, or objects of a STIX/MISP document) up to and including
  // this position are committed to the store; 0: none yet.
  uint64_t position = 0;
  uint64_t report_bytes = 0;  // length of the report journal at `position`
  uint64_t accepted = 0;      // entries stored or unchanged so far
  uint64_t rejected = 0;      // entries refused so far (each in the report)
  // Identity of the file in processing/ this marker belongs to.
  uint64_t inode = 0;
  uint64_t size = 0;
  std::string format;  // SpoolFormatName, "" until detected
  // Set once the file is finished: "done" or "failed", and its name there
  // (a single path component). Both empty while ingesting.
  std::string final_dir;
  std::string final_name;

  bool operator==(const SpoolProgress&) const = default;
};

std::string FormatSpoolProgress(const SpoolProgress& progress);
// On failure: kInvalidInput naming the bad line.
Result<SpoolProgress> ParseSpoolProgress(std::string_view text);

// Reads `path`. nullopt when it does not exist; kInvalidInput when it is
// not a marker (corrupt, too large); kUnavailable when it cannot be read.
Result<std::optional<SpoolProgress>> ReadSpoolProgress(
    const std::filesystem::path& path);

// Replaces `path` atomically and durably (temporary file in the same
// directory, fsync, rename, fsync of the directory). kUnavailable naming
// the path and the OS error on failure; `path` is then unchanged.
Status WriteSpoolProgress(const std::filesystem::path& path,
                          const SpoolProgress& progress);

// fsync(2) of a directory, so renames and unlinks in it are durable.
// kUnavailable naming the directory on failure.
Status SyncDirectory(const std::filesystem::path& dir);

}  // namespace caravan::feeds
