// `caravan submit`: one indicator from flags, or a bulk file streamed to the
// daemon in batches (never held in memory whole).
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <sstream>

#include "protocol/formats/bulk_reader.h"
#include "protocol/formats/misp.h"
#include "protocol/formats/stix.h"
#include "tools/batch_pipeline.h"
#include "tools/commands.h"
#include "tools/structured_source.h"
#include "tools/submission_builder.h"
#include "tools/submit_batcher.h"

namespace caravan::tools {
namespace {

// Lines per Submit request: the daemon's most (kMaxSubmitBatch). Each
// request is one store write and one batch signature; into a large store
// fewer, larger writes rewrite fewer index pages per indicator (50k into
// 1M: 37.5-38.5k/s at 10000, 32.2-33.9k/s at 5000; no change into an
// empty store). A reply stays far below the frame limit, and a kill loses
// at most two requests in flight.
constexpr size_t kBatchLines = 10000;
// The first request's lines; each next request doubles (SubmitBatcher).
// 100k into an empty store: the store writer idled ~130 ms of 1.33 s
// while the daemon checked and signed a first request of 10000.
constexpr size_t kFirstBatchLines = 1000;

// Per-line "updated" notes on stderr stop after this many (a re-import of
// a large feed may update every line; the audit log has them all).
constexpr uint64_t kMaxUpdateNotes = 100;

struct BulkTotals {
  uint64_t lines = 0, stored = 0, unchanged = 0;
  // Refused as invalid or by policy (the line's fault: exit 4), and not
  // stored because the store failed (disk full...: exit 1).
  uint64_t rejected = 0, failed = 0;
  std::string first_failure;  // the store's reason, for the summary
  uint64_t flagged = 0;  // stored, but matched a warninglist (not forced)
  // stored = created + updated: a new value (revision 1), or a new
  // revision of a known one (merged, or replaced with --replace).
  uint64_t created = 0, updated = 0;
};

// "new", "updated" or "unchanged" (the `status` of --json output).
std::string StatusOf(protocol::wire::SubmitResult::Stored::Reader s) {
  if (s.getUnchanged()) return "unchanged";
  return s.getRevision() == 1 ? "new" : "updated";
}

std::vector<std::string> ChangesOf(
    protocol::wire::SubmitResult::Stored::Reader s) {
  std::vector<std::string> out;
  for (auto c : s.getChanges()) out.emplace_back(c.cStr());
  return out;
}

// "updated rev 2: +tag x, tlp green->amber", "unchanged rev 1", or "" for
// a new value.
std::string ChangeText(protocol::wire::SubmitResult::Stored::Reader s) {
  const std::string status = StatusOf(s);
  if (status == "new") return "";
  std::string text = status + " rev " + std::to_string(s.getRevision());
  const auto changes = ChangesOf(s);
  for (size_t i = 0; i < changes.size(); ++i) {
    text += (i == 0 ? ": " : ", ") + changes[i];
  }
  return text;
}

// The bulk summary's tail: how the stored lines split.
std::string SplitText(const BulkTotals& t) {
  return "; " + std::to_string(t.created) + " new, " +
         std::to_string(t.updated) + " updated";
}

// "warninglist 'NAME' (entry E)" for a stored item that matched one.
std::string WarninglistText(protocol::wire::SubmitResult::Stored::Reader s) {
  return std::string("warninglist '") + s.getWarninglist().cStr() +
         "' (entry " + s.getWarninglistEntry().cStr() + ")";
}

nlohmann::json WarninglistJson(protocol::wire::SubmitResult::Stored::Reader s) {
  if (s.getWarninglist().size() == 0) return nullptr;
  return {{"name", s.getWarninglist().cStr()},
          {"entry", s.getWarninglistEntry().cStr()},
          {"forced", s.getForced()}};
}

// Whether an item's error code (SubmitResult.Item.errorCode) says the item
// itself was refused (invalid, denied by policy), as opposed to a failure
// of the store. 0 comes from daemons older than the field: their item
// errors were refusals, except a store failure they could not tell apart.
bool IsRefusal(uint8_t code) {
  const auto c = static_cast<StatusCode>(code);
  return c == StatusCode::kOk || c == StatusCode::kInvalidInput ||
         c == StatusCode::kDenied || c == StatusCode::kNotFound;
}

// The exit code of a bulk submit (docs/cli.md): 1 when the store failed
// for some line, else 4 when some line was refused, else 0.
int BulkExitCode(const BulkTotals& t) {
  if (t.failed > 0) {
    std::cerr << "caravan: " << t.failed
              << " line(s) not stored because the store failed: "
              << t.first_failure << "\n";
    return 1;
  }
  if (t.rejected > 0) {
    std::cerr << "caravan: " << t.rejected << " of " << t.lines
              << " line(s) rejected (see above)\n";
    return 4;
  }
  return 0;
}

// Cuts items into Submit requests by count and by bytes (SubmitBatcher)
// and hands each full one to the pipeline. An item too large for any
// request is rejected with its line number; the others still go.
class BatchSender {
 public:
  BatchSender(const SubmitOptions& o, const std::string& source,
              size_t max_frame_bytes, BatchPipeline& pipeline,
              BulkTotals& totals)
      : o_(o),
        source_(source),
        max_frame_bytes_(max_frame_bytes),
        pipeline_(pipeline),
        totals_(totals),
        batcher_(max_frame_bytes, kBatchLines, kFirstBatchLines) {}

  Status Add(protocol::BulkItem&& item) {
    const size_t bytes = SubmissionWireBytes(item, o_.context);
    auto fit = batcher_.Offer(bytes);
    if (fit == SubmitBatcher::Fit::kFull) {
      CARAVAN_RETURN_IF_ERROR(Flush());
      fit = batcher_.Offer(bytes);
    }
    if (fit == SubmitBatcher::Fit::kTooLarge) {
      ++totals_.rejected;
      std::cerr << "\r" << source_ << ":" << item.line << ": too large: "
                << bytes << " bytes encoded, more than one request to "
                << "caravand may hold (" << batcher_.max_item_bytes()
                << " of [control] max_frame_bytes " << max_frame_bytes_
                << "); split its tags or description\n";
      return Status::Ok();
    }
    batch_.push_back(std::move(item));
    if (batcher_.full()) return Flush();
    return Status::Ok();
  }

  // Sends what is batched.
  Status Flush() {
    if (batch_.empty()) return Status::Ok();
    auto message = std::make_unique<capnp::MallocMessageBuilder>();
    auto submit = message->initRoot<protocol::wire::Request>().initSubmit();
    submit.setForce(o_.force);
    submit.setReplace(o_.replace);
    auto items = submit.initItems(static_cast<unsigned>(batch_.size()));
    for (unsigned i = 0; i < batch_.size(); ++i) {
      CARAVAN_RETURN_IF_ERROR(FillSubmission(items[i], o_.context, batch_[i]));
    }
    batch_.clear();
    batcher_.Clear();
    return pipeline_.Send(std::move(message));
  }

 private:
  const SubmitOptions& o_;
  const std::string& source_;
  size_t max_frame_bytes_;
  BatchPipeline& pipeline_;
  BulkTotals& totals_;
  SubmitBatcher batcher_;
  std::vector<protocol::BulkItem> batch_;
};

// Sends every item `next` yields through a BatchSender.
Status SendInBatches(const std::function<bool(protocol::BulkItem*)>& next,
                     const SubmitOptions& o, const std::string& source,
                     size_t max_frame_bytes, BatchPipeline& pipeline,
                     BulkTotals& totals) {
  BatchSender sender(o, source, max_frame_bytes, pipeline, totals);
  protocol::BulkItem item;
  while (next(&item)) {
    CARAVAN_RETURN_IF_ERROR(sender.Add(std::move(item)));
    item = protocol::BulkItem();
  }
  return sender.Flush();
}

void PrintProgress(const BulkTotals& t, bool final_line) {
  std::cerr << "\r" << t.lines << " lines: " << t.stored << " stored, "
            << t.unchanged << " unchanged, " << t.rejected << " rejected"
            << (final_line ? "\n" : "") << std::flush;
}

// Accounts for every line of one batch from its reply. Returns a Status
// only for a reply that is not a submit result.
Status AccountBatch(const ControlReply& reply, const std::string& source,
                    bool print_ids, BulkTotals& t) {
  auto response = reply.response();
  if (!response.isSubmitResult()) {
    return Internal("caravand answered a submit without results");
  }
  for (auto item : response.getSubmitResult().getResults()) {
    if (item.isError()) {
      if (IsRefusal(item.getErrorCode())) {
        ++t.rejected;
      } else if (++t.failed == 1) {
        t.first_failure = item.getError().cStr();
      }
      std::cerr << "\r" << source << ":" << item.getLine() << ": "
                << (IsRefusal(item.getErrorCode()) ? "" : "not stored: ")
                << item.getError().cStr() << "\n";
      continue;
    }
    auto stored = item.getStored();
    if (stored.getWarninglist().size() > 0 && !stored.getForced()) {
      ++t.flagged;
      std::cerr << "\r" << source << ":" << item.getLine()
                << ": flagged: matches " << WarninglistText(stored)
                << "; not shared automatically\n";
    }
    if (stored.getUnchanged()) {
      ++t.unchanged;
    } else {
      ++t.stored;
      if (stored.getRevision() == 1) {
        ++t.created;
      } else if (++t.updated <= kMaxUpdateNotes) {
        std::cerr << "\r" << source << ":" << item.getLine() << ": "
                  << ChangeText(stored) << "\n";
      } else if (t.updated == kMaxUpdateNotes + 1) {
        std::cerr << "\r" << source << ": more lines updated known values; "
                  << "`caravan audit` lists each change\n";
      }
    }
    if (print_ids) {
      std::cout << item.getLine() << "\t" << stored.getId().cStr() << "\n";
    }
  }
  if (print_ids) std::cout << std::flush;
  return Status::Ok();
}

// The pipeline of a bulk submit, accounting replies into `totals`.
BatchPipeline MakePipeline(std::unique_ptr<ControlClient> client,
                           const std::string& source, bool print_ids,
                           bool progress, BulkTotals& totals) {
  return BatchPipeline(
      std::move(client), [&totals, source, print_ids,
                          progress](const ControlReply& reply) -> Status {
        CARAVAN_RETURN_IF_ERROR(AccountBatch(reply, source, print_ids, totals));
        if (progress) PrintProgress(totals, false);
        return Status::Ok();
      });
}

// Imported items in Submit batches, outcomes accounted like bulk lines
// (the "line" is the object or attribute number in the document).
// `produce` streams the document: it hands each item to `emit.item` and
// counts each object it skipped (already reported) with `emit.skipped`.
int SubmitImported(const GlobalOptions& global, const SubmitOptions& o,
                   const std::function<Status(const ImportEmit&)>& produce) {
  const bool progress = isatty(STDERR_FILENO) && !global.json;
  const std::string source = o.file == "-" ? "stdin" : o.file;
  BulkTotals totals;
  // Connected at the first item: the importers check the whole document
  // first, which for a large one may take longer than the control
  // socket's idle_timeout.
  std::unique_ptr<BatchPipeline> pipeline;
  std::unique_ptr<BatchSender> sender;
  auto connect = [&]() -> Status {
    if (sender) return Status::Ok();
    auto client = ConnectToDaemon(global);
    if (!client.ok()) return client.status();
    const size_t max_frame = (*client)->limits().max_frame_bytes;
    pipeline.reset(new BatchPipeline(MakePipeline(
        std::move(*client), source, o.print_ids, progress, totals)));
    sender = std::make_unique<BatchSender>(o, source, max_frame, *pipeline,
                                           totals);
    return Status::Ok();
  };
  ImportEmit emit;
  emit.item = [&](protocol::BulkItem&& item) -> Status {
    ++totals.lines;
    CARAVAN_RETURN_IF_ERROR(connect());
    return sender->Add(std::move(item));
  };
  emit.skipped = [&] {
    ++totals.lines;
    ++totals.rejected;
  };
  Status sent = produce(emit);
  if (sent.ok() && sender) sent = sender->Flush();
  if (!sent.ok()) {
    if (progress) PrintProgress(totals, true);
    return Fail(sent);
  }
  if (pipeline) {
    if (Status s = pipeline->Finish(); !s.ok()) return Fail(s);
  }
  if (progress) PrintProgress(totals, true);
  if (global.json) {
    PrintJson({{"objects", totals.lines},
               {"stored", totals.stored},
               {"new", totals.created},
               {"updated", totals.updated},
               {"unchanged", totals.unchanged},
               {"rejected", totals.rejected},
               {"not_stored", totals.failed},
               {"flagged", totals.flagged}});
  } else if (!o.print_ids) {
    std::cout << totals.lines << " objects: " << totals.stored << " stored, "
              << totals.unchanged << " unchanged, " << totals.rejected
              << " rejected or skipped";
    if (totals.failed > 0) std::cout << ", " << totals.failed << " not stored";
    if (totals.flagged > 0) std::cout << ", " << totals.flagged << " flagged";
    std::cout << SplitText(totals) << "\n";
  }
  return BulkExitCode(totals);
}

// `submit --file X --format stix|misp` (or a .json file / MISP feed
// directory without --format). Documents are read as streams
// (tools/structured_source.h), never whole. Objects caravan cannot
// represent are reported on stderr with their reason. A STIX indicator
// that carries another origin's caravan signed record is submitted as our
// own submission: verified re-import of foreign records is not done here
// (docs/stix.md).
int RunStructured(const GlobalOptions& global, const SubmitOptions& o,
                  std::string format) {
  const std::string source = o.file == "-" ? "stdin" : o.file;
  if (format == "misp" && o.file != "-" &&
      std::filesystem::is_directory(o.file)) {
    auto feed = protocol::ImportMispFeedDir(o.file);
    if (!feed.ok()) return Fail(feed.status());
    for (const auto& sk : feed->skipped) {
      std::cerr << source << ": " << sk.reason << "\n";
    }
    return SubmitImported(global, o, [&](const ImportEmit& emit) -> Status {
      for (size_t i = 0; i < feed->skipped.size(); ++i) emit.skipped();
      for (auto& it : feed->items) {
        CARAVAN_RETURN_IF_ERROR(emit.item(std::move(it.item)));
      }
      return Status::Ok();
    });
  }
  auto input = OpenStructuredInput(o.file);
  if (!input.ok()) return Fail(input.status());
  if (format.empty()) format = DetectJsonFormat(**input);
  // The first pass checks the whole document before anything is sent, so
  // a document that is not JSON fails as before, with nothing stored.
  return SubmitImported(global, o, [&](const ImportEmit& emit) {
    return StreamStructured(**input, format, source, emit);
  });
}

int RunBulk(const GlobalOptions& global, const SubmitOptions& o) {
  if (o.format == "stix" || o.format == "misp") {
    return RunStructured(global, o, o.format);
  }
  if (o.format.empty() && o.file != "-" &&
      (std::filesystem::is_directory(o.file) ||
       std::filesystem::path(o.file).extension() == ".json")) {
    return RunStructured(
        global, o, std::filesystem::is_directory(o.file) ? "misp" : "");
  }
  std::optional<protocol::BulkFormat> format;
  if (!o.format.empty()) {
    format = protocol::ParseBulkFormat(o.format);
    if (!format) {
      return Fail(InvalidInput("unknown --format '" + o.format +
                               "' (txt, csv, jsonl, stix, misp)"));
    }
  } else if (o.file != "-") {
    format = protocol::BulkFormatFromPath(o.file);
  }
  if (!format) format = protocol::BulkFormat::kTxt;

  std::ifstream file;
  std::istream* in = &std::cin;
  if (o.file != "-") {
    file.open(o.file, std::ios::binary);
    if (!file) return Fail(NotFound("cannot open " + o.file));
    in = &file;
  }
  // Validate the shared context once, before anything is sent.
  if (auto v = ParseValidUntil(o.context.valid_until, 0); !v.ok()) {
    return Fail(v.status());
  }
  auto client = ConnectToDaemon(global);
  if (!client.ok()) return Fail(client.status());

  const bool progress = isatty(STDERR_FILENO) && !global.json;
  const std::string source = o.file == "-" ? "stdin" : o.file;
  protocol::BulkReader reader(*in, *format);
  BulkTotals totals;
  const size_t max_frame = (*client)->limits().max_frame_bytes;
  BatchPipeline pipeline = MakePipeline(std::move(*client), source,
                                        o.print_ids, progress, totals);
  // Lines the reader itself rejects are reported here and skipped.
  auto next = [&](protocol::BulkItem* out) {
    while (reader.Next(out)) {
      ++totals.lines;
      if (!out->error) return true;
      ++totals.rejected;
      std::cerr << "\r" << source << ":" << out->line << ": " << *out->error
                << "\n";
      *out = protocol::BulkItem();
    }
    return false;
  };
  if (Status s = SendInBatches(next, o, source, max_frame, pipeline, totals);
      !s.ok()) {
    if (progress) PrintProgress(totals, true);
    return Fail(s);
  }
  if (Status s = pipeline.Finish(); !s.ok()) {
    if (progress) PrintProgress(totals, true);
    return Fail(s);
  }
  if (progress) PrintProgress(totals, true);
  if (global.json) {
    PrintJson({{"lines", totals.lines},
               {"stored", totals.stored},
               {"new", totals.created},
               {"updated", totals.updated},
               {"unchanged", totals.unchanged},
               {"rejected", totals.rejected},
               {"not_stored", totals.failed},
               {"flagged", totals.flagged}});
  } else if (!o.print_ids) {
    std::cout << totals.lines << " lines: " << totals.stored << " stored, "
              << totals.unchanged << " unchanged, " << totals.rejected
              << " rejected";
    if (totals.failed > 0) std::cout << ", " << totals.failed << " not stored";
    if (totals.flagged > 0) std::cout << ", " << totals.flagged << " flagged";
    std::cout << SplitText(totals) << "\n";
  }
  return BulkExitCode(totals);
}

int RunSingle(const GlobalOptions& global, const SubmitOptions& o) {
  capnp::MallocMessageBuilder message;
  auto submit = message.initRoot<protocol::wire::Request>().initSubmit();
  submit.setForce(o.force);
  submit.setReplace(o.replace);
  auto items = submit.initItems(1);
  Status s = FillSubmission(items[0], o.context, o.context.type, o.value, 0);
  if (!s.ok()) return Fail(s);
  auto client = ConnectToDaemon(global);
  if (!client.ok()) return Fail(client.status());
  auto reply = (*client)->Call(message);
  if (!reply.ok()) return Fail(reply.status());
  if (Status st = (*reply)->status(); !st.ok()) return Fail(st);
  auto results = (*reply)->response().getSubmitResult().getResults();
  if (results.size() != 1) {
    return Fail(Internal("caravand answered a submit without its result"));
  }
  if (results[0].isError()) {
    const std::string why = results[0].getError().cStr();
    if (IsRefusal(results[0].getErrorCode())) {
      const auto code = static_cast<StatusCode>(results[0].getErrorCode());
      return Fail(Status(code == StatusCode::kOk ? StatusCode::kInvalidInput
                                                 : code,
                         why));
    }
    return Fail(Internal("not stored: the store failed: " + why));
  }
  auto stored = results[0].getStored();
  if (stored.getWarninglist().size() > 0) {
    std::cerr << "caravan: matches " << WarninglistText(stored)
              << (stored.getForced()
                      ? ": stored with --force, shared as usual\n"
                      : ": flagged, not shared automatically (--force "
                        "to share)\n");
  }
  if (global.json) {
    PrintJson({{"id", stored.getId().cStr()},
               {"revision", stored.getRevision()},
               {"unchanged", stored.getUnchanged()},
               {"status", StatusOf(stored)},
               {"changes", ChangesOf(stored)},
               {"warninglist", WarninglistJson(stored)}});
  } else {
    // stdout stays the id alone (scripts capture it); what a
    // re-submission did to a known value goes beside it on stderr.
    std::cout << stored.getId().cStr() << "\n";
    if (const std::string text = ChangeText(stored); !text.empty()) {
      std::cerr << text << "\n";
    }
  }
  return 0;
}

}  // namespace

int RunSubmit(const GlobalOptions& global, const SubmitOptions& o) {
  return o.file.empty() ? RunSingle(global, o) : RunBulk(global, o);
}

}  // namespace caravan::tools
