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
#include "tools/submission_builder.h"
#include "tools/submit_batcher.h"

namespace caravan::tools {
namespace {

// Lines per Submit request: large enough for group commit and one batch
// signature to pay off, small enough that a kill loses little work and a
// reply stays far below the frame limit.
constexpr size_t kBatchLines = 5000;

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

// Sends every item `next` yields in Submit requests cut by count and by
// bytes (SubmitBatcher). An item too large for any request is rejected
// with its line number; the others still go.
Status SendInBatches(const std::function<bool(protocol::BulkItem*)>& next,
                     const SubmitOptions& o, const std::string& source,
                     size_t max_frame_bytes, BatchPipeline& pipeline,
                     BulkTotals& totals) {
  SubmitBatcher batcher(max_frame_bytes, kBatchLines);
  std::vector<protocol::BulkItem> batch;
  auto send = [&]() -> Status {
    if (batch.empty()) return Status::Ok();
    auto message = std::make_unique<capnp::MallocMessageBuilder>();
    auto submit = message->initRoot<protocol::wire::Request>().initSubmit();
    submit.setForce(o.force);
    submit.setReplace(o.replace);
    auto items = submit.initItems(static_cast<unsigned>(batch.size()));
    for (unsigned i = 0; i < batch.size(); ++i) {
      CARAVAN_RETURN_IF_ERROR(FillSubmission(items[i], o.context, batch[i]));
    }
    batch.clear();
    batcher.Clear();
    return pipeline.Send(std::move(message));
  };
  protocol::BulkItem item;
  while (next(&item)) {
    const size_t bytes = SubmissionWireBytes(item, o.context);
    auto fit = batcher.Offer(bytes);
    if (fit == SubmitBatcher::Fit::kFull) {
      CARAVAN_RETURN_IF_ERROR(send());
      fit = batcher.Offer(bytes);
    }
    if (fit == SubmitBatcher::Fit::kTooLarge) {
      ++totals.rejected;
      std::cerr << "\r" << source << ":" << item.line << ": too large: "
                << bytes << " bytes encoded, more than one request to "
                << "caravand may hold (" << batcher.max_item_bytes()
                << " of [control] max_frame_bytes " << max_frame_bytes
                << "); split its tags or description\n";
    } else {
      batch.push_back(std::move(item));
      if (batcher.full()) CARAVAN_RETURN_IF_ERROR(send());
    }
    item = protocol::BulkItem();
  }
  return send();
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

// Reads a whole (bounded) file or stdin; STIX and MISP are JSON documents,
// not line streams.
Result<std::string> ReadAll(const std::string& path, size_t max_bytes) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) return NotFound("cannot open " + path);
    in = &file;
  }
  std::string text;
  char buf[65536];
  while (in->read(buf, sizeof buf) || in->gcount() > 0) {
    text.append(buf, static_cast<size_t>(in->gcount()));
    if (text.size() > max_bytes) {
      return InvalidInput(path + ": larger than " +
                          std::to_string(max_bytes) + " bytes");
    }
  }
  return text;
}

// "stix" or "misp" for a JSON document: a bundle or TAXII envelope is STIX,
// an Event or REST response is MISP.
std::string DetectJsonFormat(const std::string& text) {
  const size_t head = std::min<size_t>(text.size(), 4096);
  const std::string_view start(text.data(), head);
  if (start.find("\"Event\"") != std::string_view::npos ||
      start.find("\"response\"") != std::string_view::npos) {
    return "misp";
  }
  return "stix";
}

// Imported items in Submit batches, outcomes accounted like bulk lines
// (the "line" is the object or attribute number in the document).
int SubmitImported(const GlobalOptions& global, const SubmitOptions& o,
                   const std::vector<protocol::BulkItem>& imported,
                   size_t skipped) {
  auto client = ConnectToDaemon(global);
  if (!client.ok()) return Fail(client.status());
  const bool progress = isatty(STDERR_FILENO) && !global.json;
  const std::string source = o.file == "-" ? "stdin" : o.file;
  BulkTotals totals;
  totals.lines = imported.size() + skipped;
  totals.rejected = skipped;
  const size_t max_frame = (*client)->limits().max_frame_bytes;
  BatchPipeline pipeline = MakePipeline(std::move(*client), source,
                                        o.print_ids, progress, totals);
  size_t index = 0;
  auto next = [&](protocol::BulkItem* out) {
    if (index == imported.size()) return false;
    *out = imported[index++];
    return true;
  };
  if (Status s = SendInBatches(next, o, source, max_frame, pipeline, totals);
      !s.ok()) {
    return Fail(s);
  }
  if (Status s = pipeline.Finish(); !s.ok()) return Fail(s);
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
// directory without --format). Objects caravan cannot represent are
// reported on stderr with their reason. A STIX indicator that carries
// another origin's caravan signed record is submitted as our own
// submission: verified re-import of foreign records is not done here
// (docs/stix.md).
int RunStructured(const GlobalOptions& global, const SubmitOptions& o,
                  std::string format) {
  const std::string source = o.file == "-" ? "stdin" : o.file;
  std::vector<protocol::BulkItem> items;
  size_t skipped = 0;
  if (format == "misp" && o.file != "-" &&
      std::filesystem::is_directory(o.file)) {
    auto feed = protocol::ImportMispFeedDir(o.file);
    if (!feed.ok()) return Fail(feed.status());
    for (const auto& sk : feed->skipped) {
      std::cerr << source << ": " << sk.reason << "\n";
    }
    skipped = feed->skipped.size();
    for (auto& it : feed->items) items.push_back(std::move(it.item));
    return SubmitImported(global, o, items, skipped);
  }
  auto text = ReadAll(o.file, std::max(protocol::kMaxStixBytes,
                                       protocol::kMaxMispBytes));
  if (!text.ok()) return Fail(text.status());
  if (format.empty()) format = DetectJsonFormat(*text);
  if (format == "stix") {
    auto bundle = protocol::ImportStixBundle(*text);
    if (!bundle.ok()) return Fail(bundle.status());
    for (const auto& sk : bundle->skipped) {
      std::cerr << source << ": object " << sk.index << ": " << sk.reason
                << "\n";
    }
    skipped = bundle->skipped.size();
    for (auto& it : bundle->items) {
      if (it.revoked) {
        // A revocation is a signed act of the origin; an import cannot
        // make one for it.
        std::cerr << source << ": object " << it.item.line << ": "
                  << it.stix_id << ": revoked indicator not imported\n";
        ++skipped;
        continue;
      }
      items.push_back(std::move(it.item));
    }
  } else {
    auto event = protocol::ImportMispEvent(*text);
    if (!event.ok()) return Fail(event.status());
    for (const auto& sk : event->skipped) {
      std::cerr << source << ": " << sk.reason << "\n";
    }
    skipped = event->skipped.size();
    for (auto& it : event->items) items.push_back(std::move(it.item));
  }
  return SubmitImported(global, o, items, skipped);
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
