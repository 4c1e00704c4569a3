#include "daemon/feeds/spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <istream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <streambuf>
#include <system_error>
#include <utility>

#include "daemon/observe/log.h"
#include "daemon/feeds/spool_format.h"
#include "protocol/formats/misp.h"
#include "protocol/formats/stix.h"

namespace caravan::feeds {
namespace {

namespace fs = std::filesystem;

constexpr mode_t kDirMode = 0750;
constexpr mode_t kFileMode = 0640;
constexpr size_t kMaxReasonBytes = 512;
// STIX and MISP documents are parsed whole; their importers' own bound.
constexpr uint64_t kMaxJsonDocumentBytes =
    std::min(protocol::kMaxStixBytes, protocol::kMaxMispBytes);

std::string ErrnoText(int err) { return std::strerror(err); }

// Names go into one-line logs: control bytes become '?', cut at `max`.
std::string Clean(std::string_view s, size_t max) {
  std::string out;
  out.reserve(std::min(s.size(), max));
  for (char c : s) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  return out;
}

// "NAME:LINE: reason" (or "NAME: reason" when there is no line).
std::string ReportLine(const std::string& name, uint64_t line,
                       std::string_view reason) {
  std::string out = name;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": " + BoundedSpoolReason(reason) + "\n";
  return out;
}

// What a non-regular directory entry is, for its report.
std::string FileKind(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device node";
  if (S_ISDIR(mode)) return "a directory";
  return "not a regular file";
}

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 +
         st.st_mtim.tv_nsec;
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Status WriteAll(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return Unavailable("cannot write " + path.string() + ": " +
                         ErrnoText(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Reads a file descriptor up to `limit` bytes (its size when claimed: a
// writer that keeps appending after the rename is not followed).
class FdStreamBuf : public std::streambuf {
 public:
  FdStreamBuf(int fd, uint64_t limit) : fd_(fd), remaining_(limit) {}
  int error() const { return error_; }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    if (remaining_ == 0) return traits_type::eof();
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(sizeof buf_, remaining_));
    ssize_t n;
    do {
      n = ::read(fd_, buf_, want);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      error_ = errno;
      return traits_type::eof();
    }
    if (n == 0) return traits_type::eof();
    remaining_ -= static_cast<uint64_t>(n);
    setg(buf_, buf_, buf_ + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  int fd_;
  uint64_t remaining_;
  int error_ = 0;
  char buf_[64 * 1024];
};

// One entry of a file: a line of a text format, or an object/attribute of
// a JSON document. `position` orders entries for the progress marker.
struct Entry {
  uint64_t position = 0;
  uint64_t line = 0;  // shown in the report; 0: none
  std::optional<std::string> error;
  protocol::BulkItem item;
};

class EntrySource {
 public:
  virtual ~EntrySource() = default;
  virtual bool Next(Entry* entry) = 0;
  virtual int read_error() const { return 0; }
};

class BulkSource : public EntrySource {
 public:
  BulkSource(int fd, uint64_t size, protocol::BulkFormat format)
      : buf_(fd, size), in_(&buf_), reader_(in_, format) {}
  bool Next(Entry* entry) override {
    protocol::BulkItem item;
    if (!reader_.Next(&item)) return false;
    entry->position = item.line;
    entry->line = item.line;
    entry->error = item.error;
    entry->item = std::move(item);
    return true;
  }
  int read_error() const override { return buf_.error(); }

 private:
  FdStreamBuf buf_;
  std::istream in_;
  protocol::BulkReader reader_;
};

class ListSource : public EntrySource {
 public:
  explicit ListSource(std::vector<Entry> entries)
      : entries_(std::move(entries)) {
    for (size_t i = 0; i < entries_.size(); ++i) entries_[i].position = i + 1;
  }
  bool Next(Entry* entry) override {
    if (next_ >= entries_.size()) return false;
    *entry = std::move(entries_[next_++]);
    return true;
  }

 private:
  std::vector<Entry> entries_;
  size_t next_ = 0;
};

Result<std::string> PreadAll(int fd, uint64_t size) {
  std::string text(static_cast<size_t>(size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::pread(fd, text.data() + got, text.size() - got,
                              static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Unavailable("read error: " + ErrnoText(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return text;
}

// Entries of a STIX document in object order: imported indicators, and
// the objects that were not imported with their reason.
Result<std::vector<Entry>> StixEntries(std::string_view text) {
  auto imported = protocol::ImportStixBundle(text);
  if (!imported.ok()) return Status(imported.status().code(), "STIX: " + imported.status().message());
  std::vector<Entry> entries;
  for (auto& sk : imported->skipped) {
    Entry e;
    e.line = sk.index;
    e.error = sk.reason;
    entries.push_back(std::move(e));
  }
  for (auto& it : imported->items) {
    Entry e;
    e.line = it.item.line;
    if (it.revoked) {
      // A revocation is a signed act of the origin; an import cannot make
      // one for it.
      e.error = it.stix_id + ": revoked indicator not imported";
    } else {
      e.item = std::move(it.item);
    }
    entries.push_back(std::move(e));
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.line < b.line; });
  return entries;
}

// Entries of a MISP event: skipped attributes first (MISP reports name
// the attribute, not a position), then imported attributes in order.
Result<std::vector<Entry>> MispEntries(std::string_view text) {
  auto imported = protocol::ImportMispEvent(text);
  if (!imported.ok()) return Status(imported.status().code(), "MISP: " + imported.status().message());
  std::vector<Entry> entries;
  for (auto& sk : imported->skipped) {
    Entry e;
    e.error = sk.reason;
    entries.push_back(std::move(e));
  }
  for (auto& it : imported->items) {
    Entry e;
    e.line = it.item.line;
    e.item = std::move(it.item);
    entries.push_back(std::move(e));
  }
  return entries;
}

bool ExistsNoFollow(const fs::path& p) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(p, ec));
}

void UnlinkIfThere(const fs::path& p) {
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
    daemon::LogWarning("spool: cannot remove ", p.string(), ": ",
                       ErrnoText(errno));
  }
}

}  // namespace

std::string BoundedSpoolReason(std::string_view reason) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::min(reason.size(), kMaxSpoolReasonBytes) + 24);
  size_t i = 0;
  for (; i < reason.size(); ++i) {
    const auto u = static_cast<unsigned char>(reason[i]);
    const bool escape = u < 0x20 || u == 0x7f || u == '\\';
    const size_t need = escape ? 4 : 1;
    if (out.size() + need > kMaxSpoolReasonBytes) break;
    if (escape) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out.push_back(static_cast<char>(u));
    }
  }
  if (i == reason.size()) return out;
  // Cut: back off to the start of a UTF-8 sequence, so the report stays
  // valid UTF-8 when the reason was.
  while (!out.empty() &&
         (static_cast<unsigned char>(out.back()) & 0xc0) == 0x80) {
    out.pop_back();
  }
  if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xc0) {
    out.pop_back();
  }
  out += "\xe2\x80\xa6(" + std::to_string(reason.size()) + " bytes)";
  return out;
}

Spool::Spool(SpoolOptions options, SpoolSubmitFn submit, SpoolAuditFn audit,
             SpoolClock now)
    : options_(std::move(options)),
      submit_(std::move(submit)),
      audit_(std::move(audit)),
      now_(now ? std::move(now) : SpoolClock(&std::chrono::steady_clock::now)) {
  if (options_.batch_lines == 0) options_.batch_lines = 1;
}

bool Spool::IsCandidateName(std::string_view name) {
  if (name.empty() || name.size() > kMaxSpoolNameBytes) return false;
  if (name.front() == '.') return false;
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.substr(name.size() - suffix.size()) == suffix;
  };
  if (ends_with(".tmp") || ends_with(".part")) return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

fs::path Spool::Marker(const std::string& name) const {
  return state() / (name + ".progress");
}

fs::path Spool::Journal(const std::string& name) const {
  return state() / (name + ".report");
}

Status Spool::Prepare() {
  for (const fs::path& d :
       {options_.dir, incoming(), processing(), options_.dir / "done",
        options_.dir / "failed", state()}) {
    if (::mkdir(d.c_str(), kDirMode) != 0 && errno != EEXIST) {
      return Unavailable("spool: cannot create " + d.string() + ": " +
                         ErrnoText(errno));
    }
    struct stat st{};
    if (::stat(d.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Unavailable("spool: " + d.string() + " is not a directory");
    }
  }
  return Status::Ok();
}

std::string Spool::UniqueName(const fs::path& dir,
                              const std::string& name) const {
  auto free = [&](const std::string& candidate) {
    return !ExistsNoFollow(dir / candidate) &&
           !ExistsNoFollow(dir / (candidate + ".error"));
  };
  if (free(name)) return name;
  const fs::path p(name);
  const std::string stem = p.stem().string(), ext = p.extension().string();
  for (uint64_t n = 1;; ++n) {
    std::string candidate = stem + "." + std::to_string(n) + ext;
    if (free(candidate)) return candidate;
  }
}

std::vector<std::string> Spool::ListProcessing() {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(processing(), ec), end; !ec && it != end;
       it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  if (ec) {
    daemon::LogWarning("spool: cannot list ", processing().string(), ": ",
                       ec.message());
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool Spool::Settled(const std::string& name, const struct stat& st,
                    std::chrono::steady_clock::time_point now) {
  if (options_.settle_time.count() <= 0) return true;
  const Sighting seen{static_cast<uint64_t>(st.st_ino),
                      static_cast<uint64_t>(st.st_nlink),
                      static_cast<uint64_t>(st.st_size), MtimeNs(st), now};
  auto it = sightings_.find(name);
  if (it == sightings_.end()) {
    if (sightings_.size() < kMaxSpoolSightings) sightings_.emplace(name, seen);
    return false;
  }
  Sighting& s = it->second;
  if (s.inode != seen.inode || s.links != seen.links || s.size != seen.size ||
      s.mtime_ns != seen.mtime_ns) {
    s = seen;  // still being written: the settle time starts again
    return false;
  }
  return now - s.since >= options_.settle_time;
}

std::vector<std::string> Spool::ListIncoming() {
  const auto now = now_();
  std::vector<std::pair<int64_t, std::string>> found;  // mtime, name
  std::vector<std::string> listed;
  std::error_code ec;
  for (fs::directory_iterator it(incoming(), ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    const bool hidden_or_partial =
        !name.empty() && (name.front() == '.' || name.ends_with(".tmp") ||
                          name.ends_with(".part"));
    if (hidden_or_partial) continue;  // being written: the convention
    struct stat st{};
    const bool stat_ok = ::lstat(it->path().c_str(), &st) == 0;
    std::string why;
    if (!IsCandidateName(name)) {
      why = "name longer than " + std::to_string(kMaxSpoolNameBytes) +
            " bytes or with control characters";
    } else if (!stat_ok) {
      if (errno == ENOENT) continue;  // renamed away meanwhile
      why = "cannot stat: " + ErrnoText(errno);
    } else if (S_ISDIR(st.st_mode)) {
      why = "a directory";
    }
    if (!why.empty()) {
      if (std::find(warned_.begin(), warned_.end(), name) == warned_.end()) {
        daemon::LogWarning("spool: left in incoming/: '", Clean(name, 256),
                           "': ", why);
        if (warned_.size() < 1000) warned_.push_back(name);
      }
      continue;
    }
    // Links, FIFOs and the like are claimed at once, to be refused unread;
    // a regular file only once its writer has let it be for settle_time.
    if (S_ISREG(st.st_mode)) {
      listed.push_back(name);
      if (!Settled(name, st, now)) continue;
    }
    found.emplace_back(MtimeNs(st), std::move(name));
  }
  if (ec) {
    daemon::LogWarning("spool: cannot list ", incoming().string(), ": ",
                       ec.message());
  } else {
    // Forget files that are gone (claimed or removed): bounded memory.
    std::sort(listed.begin(), listed.end());
    std::erase_if(sightings_, [&](const auto& kv) {
      return !std::binary_search(listed.begin(), listed.end(), kv.first);
    });
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> names;
  for (auto& f : found) names.push_back(std::move(f.second));
  return names;
}

bool Spool::Claim(const std::string& name) {
  if (ExistsNoFollow(processing() / name)) {
    daemon::LogWarning("spool: processing/", name,
                       " exists; leaving incoming/", name, " for later");
    return false;
  }
  // A marker or report left from an earlier file of the same name must not
  // be taken for this one's.
  UnlinkIfThere(Marker(name));
  UnlinkIfThere(Journal(name));
  const fs::path from = incoming() / name, to = processing() / name;
  if (::rename(from.c_str(), to.c_str()) != 0) {
    if (errno != ENOENT) {
      daemon::LogWarning("spool: cannot claim ", from.string(), ": ",
                         ErrnoText(errno));
    }
    return false;
  }
  return true;
}

void Spool::RecoverFinishing() {
  std::error_code ec;
  std::vector<std::string> markers;
  for (fs::directory_iterator it(state(), ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string file = it->path().filename().string();
    if (file.ends_with(".tmp")) {
      UnlinkIfThere(it->path());  // a marker write that never completed
    } else if (file.ends_with(".progress")) {
      markers.push_back(file.substr(0, file.size() - 9));
    }
  }
  for (const std::string& name : markers) {
    auto marker = ReadSpoolProgress(Marker(name));
    if (marker.ok() && marker->has_value() && !(*marker)->final_dir.empty()) {
      Status moved = CompleteMove(name, **marker);
      if (!moved.ok()) daemon::LogError("spool: ", moved.message());
    } else if (!ExistsNoFollow(processing() / name)) {
      // Left from a file that is gone: nothing to resume.
      UnlinkIfThere(Marker(name));
      UnlinkIfThere(Journal(name));
    }
  }
}

std::vector<SpoolFileResult> Spool::RunOnce(const std::atomic<bool>& stop) {
  std::vector<SpoolFileResult> results;
  RecoverFinishing();
  for (const std::string& name : ListProcessing()) {
    if (stop) return results;
    results.push_back(Ingest(name, stop));
    if (results.back().interrupted) return results;
  }
  while (!stop) {
    bool claimed = false;
    for (const std::string& name : ListIncoming()) {
      if (stop) break;
      if (!Claim(name)) continue;
      claimed = true;
      results.push_back(Ingest(name, stop));
      if (results.back().interrupted) return results;
    }
    if (!claimed) break;  // nothing new arrived meanwhile
  }
  return results;
}

SpoolFileResult Spool::Ingest(const std::string& name,
                              const std::atomic<bool>& stop) {
  SpoolFileResult result;
  result.name = name;
  const fs::path path = processing() / name;

  SpoolProgress p;
  bool resume = false;
  auto marker = ReadSpoolProgress(Marker(name));
  if (!marker.ok()) {
    daemon::LogWarning("spool: ", marker.status().message(),
                       "; ingesting ", name, " from its start");
  } else if (marker->has_value()) {
    p = **marker;
    resume = true;
  }
  if (resume && !p.final_dir.empty()) {
    Status moved = CompleteMove(name, p);
    if (!moved.ok()) {
      daemon::LogError("spool: ", moved.message());
      result.interrupted = true;
      return result;
    }
    result.final_path = p.final_dir + "/" + p.final_name;
    result.failed = p.final_dir == "failed";
    result.format = p.format;
    result.accepted = p.accepted;
    result.rejected = p.rejected;
    return result;
  }

  // Refused without being opened: opening a device node can have effects
  // of its own, and a FIFO or socket holds nothing to ingest.
  struct stat lst{};
  if (::lstat(path.c_str(), &lst) != 0) {
    if (errno == ENOENT) {
      daemon::LogWarning("spool: processing/", name, " vanished");
      return result;
    }
  } else if (!S_ISREG(lst.st_mode)) {
    p = {};
    return FinishFailed(name,
                        FileKind(lst.st_mode) +
                            "; the spool takes regular files only (not read)",
                        p);
  }
  // Everything below works from this descriptor alone, so what was checked
  // is what is read. O_NOFOLLOW: a symbolic link swapped in after the lstat
  // must not make the daemon read a file the dropper cannot; O_NONBLOCK: a
  // FIFO swapped in must not hang it.
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT) {
      daemon::LogWarning("spool: processing/", name, " vanished");
      return result;
    }
    p = {};
    return FinishFailed(name,
                        err == ELOOP ? "a symbolic link; the spool takes "
                                       "regular files only"
                                     : "cannot open: " + ErrnoText(err),
                        p);
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) {
    p = {};
    return FinishFailed(name, "cannot stat: " + ErrnoText(errno), p);
  }
  if (!S_ISREG(st.st_mode)) {
    p = {};
    return FinishFailed(name,
                        FileKind(st.st_mode) +
                            "; the spool takes regular files only (not read)",
                        p);
  }
  if (st.st_nlink != 1) {
    // A hard link can name a file the dropper may not read (a key file):
    // the daemon, which can, must not ingest it and echo it in a report.
    p = {};
    return FinishFailed(name,
                        "has " + std::to_string(st.st_nlink) +
                            " hard links; the spool takes files with exactly "
                            "one (not read)",
                        p);
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  if (resume && (p.inode != st.st_ino || p.size != size)) {
    daemon::LogWarning("spool: progress marker of ", name,
                       " belongs to another file; ingesting from its start");
    resume = false;
  }
  if (!resume) {
    p = {};
    p.inode = st.st_ino;
    p.size = size;
  }

  // The report journal, cut back to what the marker vouches for.
  Fd journal(::open(Journal(name).c_str(),
                    O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, kFileMode));
  if (journal.get() < 0) {
    daemon::LogError("spool: cannot open ", Journal(name).string(), ": ",
                     ErrnoText(errno));
    result.interrupted = true;
    return result;
  }
  struct stat jst{};
  if (::fstat(journal.get(), &jst) == 0 &&
      static_cast<uint64_t>(jst.st_size) < p.report_bytes) {
    daemon::LogWarning("spool: report journal of ", name,
                       " is shorter than its marker says; earlier report "
                       "lines are lost");
    p.report_bytes = static_cast<uint64_t>(jst.st_size);
  }
  if (::ftruncate(journal.get(), static_cast<off_t>(p.report_bytes)) != 0 ||
      ::lseek(journal.get(), 0, SEEK_END) < 0) {
    daemon::LogError("spool: cannot reset ", Journal(name).string(), ": ",
                     ErrnoText(errno));
    result.interrupted = true;
    return result;
  }

  if (size > options_.max_file_bytes) {
    return FinishFailed(name,
                        "file is " + std::to_string(size) +
                            " bytes; [spool] max_file_bytes is " +
                            std::to_string(options_.max_file_bytes),
                        p);
  }
  std::string head(static_cast<size_t>(std::min<uint64_t>(size, kSpoolSniffBytes)), '\0');
  {
    auto read = PreadAll(fd.get(), head.size());
    if (!read.ok()) return FinishFailed(name, read.status().message(), p);
    head = std::move(*read);
  }
  auto format = DetectSpoolFormat(name, head);
  if (!format.ok()) return FinishFailed(name, format.status().message(), p);
  p.format = std::string(SpoolFormatName(*format));
  result.format = p.format;

  std::unique_ptr<EntrySource> source;
  switch (*format) {
    case SpoolFormat::kTxt:
    case SpoolFormat::kCsv:
    case SpoolFormat::kJsonl: {
      const auto bulk = *format == SpoolFormat::kTxt   ? protocol::BulkFormat::kTxt
                        : *format == SpoolFormat::kCsv ? protocol::BulkFormat::kCsv
                                                       : protocol::BulkFormat::kJsonl;
      source = std::make_unique<BulkSource>(fd.get(), size, bulk);
      break;
    }
    case SpoolFormat::kStix:
    case SpoolFormat::kMisp: {
      if (size > kMaxJsonDocumentBytes) {
        return FinishFailed(name,
                            "a " + p.format + " JSON document of " +
                                std::to_string(size) + " bytes; at most " +
                                std::to_string(kMaxJsonDocumentBytes) +
                                " are read",
                            p);
      }
      auto text = PreadAll(fd.get(), size);
      if (!text.ok()) return FinishFailed(name, text.status().message(), p);
      auto entries = *format == SpoolFormat::kStix ? StixEntries(*text)
                                                   : MispEntries(*text);
      if (!entries.ok()) {
        return FinishFailed(name, entries.status().message(), p);
      }
      source = std::make_unique<ListSource>(std::move(*entries));
      break;
    }
  }

  const std::string actor = "spool:" + name;
  while (true) {
    std::vector<Entry> batch;
    Entry e;
    while (batch.size() < options_.batch_lines && source->Next(&e)) {
      if (e.position <= p.position) continue;  // committed before a restart
      batch.push_back(std::move(e));
      e = Entry();
    }
    if (batch.empty()) break;
    std::vector<protocol::BulkItem> items;
    for (const Entry& b : batch) {
      if (!b.error) items.push_back(b.item);
    }
    std::vector<std::string> outcomes;
    if (!items.empty()) outcomes = submit_(items, actor);
    std::string report;
    size_t k = 0;
    for (const Entry& b : batch) {
      std::string error;
      if (b.error) {
        error = *b.error;
      } else {
        error = k < outcomes.size() ? outcomes[k] : "not submitted";
        ++k;
      }
      if (error.empty()) {
        ++p.accepted;
        continue;
      }
      if (p.rejected < options_.max_report_lines) {
        report += ReportLine(name, b.line, error);
      }
      ++p.rejected;
    }
    // The journal first, then the marker that vouches for it.
    Status wrote = WriteAll(journal.get(), report, Journal(name));
    if (wrote.ok() && !report.empty() && ::fdatasync(journal.get()) != 0) {
      wrote = Unavailable("cannot sync " + Journal(name).string() + ": " +
                          ErrnoText(errno));
    }
    if (wrote.ok()) {
      p.report_bytes += report.size();
      p.position = batch.back().position;
      wrote = WriteSpoolProgress(Marker(name), p);
    }
    if (!wrote.ok()) {
      // The batch is committed; without a marker it is resubmitted on the
      // next attempt, which the store absorbs as unchanged.
      daemon::LogError("spool: ", wrote.message(), "; ", name,
                       " stays in processing/ and is retried");
      result.interrupted = true;
      return result;
    }
    if (stop) {
      daemon::LogNotice("spool: stopping after entry ", p.position, " of ",
                        name, "; it resumes there on the next start");
      result.interrupted = true;
      result.accepted = p.accepted;
      result.rejected = p.rejected;
      return result;
    }
  }
  struct stat after{};
  if (::fstat(fd.get(), &after) == 0 &&
      (static_cast<uint64_t>(after.st_size) != size ||
       MtimeNs(after) != MtimeNs(st))) {
    // Its writer was still at work (settle_time too short for it, or a
    // pause longer than it): say so, rather than ingest a prefix silently.
    const std::string line = ReportLine(
        name, 0,
        "the file changed while it was read (" + std::to_string(size) +
            " bytes when claimed, " + std::to_string(after.st_size) +
            " now): only what it held when claimed was ingested; write "
            "elsewhere and rename into incoming/ (docs/spool.md)");
    daemon::LogWarning("spool: ", name,
                       " changed while it was read; see its report");
    if (WriteAll(journal.get(), line, Journal(name)).ok() &&
        ::fdatasync(journal.get()) == 0) {
      p.report_bytes += line.size();
    }
  }
  if (source->read_error() != 0) {
    const std::string line =
        ReportLine(name, 0,
                   "read error after entry " + std::to_string(p.position) +
                       ": " + ErrnoText(source->read_error()));
    if (WriteAll(journal.get(), line, Journal(name)).ok()) {
      p.report_bytes += line.size();
    }
    return Finish(name, "failed", p);
  }
  // Nothing usable at all (a CSV without a value column, every line bad):
  // failed/, with the report saying line by line why.
  return Finish(name, p.accepted == 0 && p.rejected > 0 ? "failed" : "done",
                p);
}

SpoolFileResult Spool::FinishFailed(const std::string& name,
                                    const std::string& reason,
                                    SpoolProgress& p) {
  // The report of a failed file is its one reason.
  const std::string line = ReportLine(name, 0, reason);
  Fd journal(::open(Journal(name).c_str(),
                    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                    kFileMode));
  Status wrote = journal.get() < 0
                     ? Unavailable("cannot create " + Journal(name).string() +
                                   ": " + ErrnoText(errno))
                     : WriteAll(journal.get(), line, Journal(name));
  if (wrote.ok() && ::fdatasync(journal.get()) != 0) {
    wrote = Unavailable("cannot sync " + Journal(name).string());
  }
  if (!wrote.ok()) {
    daemon::LogError("spool: ", wrote.message(), "; ", name,
                     " stays in processing/ and is retried");
    SpoolFileResult result;
    result.name = name;
    result.interrupted = true;
    return result;
  }
  p.report_bytes = line.size();
  return Finish(name, "failed", p);
}

SpoolFileResult Spool::Finish(const std::string& name, const std::string& dir,
                              SpoolProgress& p) {
  SpoolFileResult result;
  result.name = name;
  result.format = p.format;
  if (p.rejected > options_.max_report_lines) {
    const std::string line = ReportLine(
        name, 0,
        std::to_string(p.rejected - options_.max_report_lines) +
            " more rejected entries not listed");
    Fd journal(::open(Journal(name).c_str(),
                      O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC));
    if (journal.get() >= 0 && WriteAll(journal.get(), line, Journal(name)).ok() &&
        ::fdatasync(journal.get()) == 0) {
      p.report_bytes += line.size();
    }
  }
  p.final_dir = dir;
  p.final_name = UniqueName(options_.dir / dir, name);
  // Recorded before any move, so a restart completes the moves instead of
  // taking the file for a new one.
  Status marked = WriteSpoolProgress(Marker(name), p);
  Status moved = marked.ok() ? CompleteMove(name, p) : marked;
  if (!moved.ok()) {
    daemon::LogError("spool: ", moved.message(), "; ", name,
                     " stays in processing/ and is retried");
    result.interrupted = true;
    return result;
  }
  result.final_path = dir + "/" + p.final_name;
  result.failed = dir == "failed";
  result.accepted = p.accepted;
  result.rejected = p.rejected;
  return result;
}

Status Spool::CompleteMove(const std::string& name, const SpoolProgress& p) {
  const fs::path dest = options_.dir / p.final_dir;
  const fs::path from = processing() / name, to = dest / p.final_name;
  // The report first: whoever sees NAME appear in done/ or failed/ finds
  // its NAME.error already there.
  const fs::path journal = Journal(name);
  std::error_code ec;
  const auto journal_size = fs::file_size(journal, ec);
  if (!ec && journal_size > 0) {
    fs::path report = to;
    report += ".error";
    if (::rename(journal.c_str(), report.c_str()) != 0) {
      return Unavailable("cannot move " + journal.string() + " to " +
                         report.string() + ": " + ErrnoText(errno));
    }
  } else {
    UnlinkIfThere(journal);
  }
  if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
    return Unavailable("cannot move " + from.string() + " to " + to.string() +
                       ": " + ErrnoText(errno));
  }
  CARAVAN_RETURN_IF_ERROR(SyncDirectory(dest));
  CARAVAN_RETURN_IF_ERROR(SyncDirectory(processing()));

  const std::string where = p.final_dir + "/" + p.final_name;
  if (p.final_dir == "done") {
    daemon::LogInfo("spool: ", name, " (", p.format, "): ", p.accepted,
                    " stored or unchanged, ", p.rejected, " rejected -> ",
                    where, p.rejected > 0 ? " (see .error)" : "");
  } else {
    daemon::LogWarning("spool: ", name, " failed -> ", where, ".error");
  }
  if (audit_) {
    nlohmann::json detail = {{"file", name},
                             {"moved_to", where},
                             {"format", p.format},
                             {"accepted", p.accepted},
                             {"rejected", p.rejected}};
    audit_("spool:" + name,
           p.final_dir == "done" ? "spool-done" : "spool-failed", where,
           detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  UnlinkIfThere(Marker(name));
  return SyncDirectory(state());
}

}  // namespace caravan::feeds
