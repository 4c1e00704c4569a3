// `caravan submit`: one indicator from flags, or a bulk file streamed to the
// daemon in batches (never held in memory whole).
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "protocol/bulk_reader.h"
#include "tools/commands.h"
#include "tools/submission_builder.h"

namespace caravan::tools {
namespace {

// Lines per Submit request: large enough for group commit and one batch
// signature to pay off, small enough that a kill loses little work and a
// reply stays far below the frame limit.
constexpr size_t kBatchLines = 1000;

struct BulkTotals {
  uint64_t lines = 0, stored = 0, unchanged = 0, rejected = 0;
};

void PrintProgress(const BulkTotals& t, bool final_line) {
  std::cerr << "\r" << t.lines << " lines: " << t.stored << " stored, "
            << t.unchanged << " unchanged, " << t.rejected << " rejected"
            << (final_line ? "\n" : "") << std::flush;
}

// Sends one batch and accounts for every line in it. Returns a Status only
// for failures of the whole batch (daemon gone, request refused).
Status SendBatch(ControlClient& client, capnp::MallocMessageBuilder& message,
                 const std::string& source, bool print_ids, BulkTotals& t) {
  auto reply = client.Call(message);
  if (!reply.ok()) return reply.status();
  CARAVAN_RETURN_IF_ERROR((*reply)->status());
  auto response = (*reply)->response();
  if (!response.isSubmitResult()) {
    return Internal("caravand answered a submit without results");
  }
  for (auto item : response.getSubmitResult().getResults()) {
    if (item.isError()) {
      ++t.rejected;
      std::cerr << "\r" << source << ":" << item.getLine() << ": "
                << item.getError().cStr() << "\n";
      continue;
    }
    auto stored = item.getStored();
    if (stored.getUnchanged()) {
      ++t.unchanged;
    } else {
      ++t.stored;
    }
    if (print_ids) {
      std::cout << item.getLine() << "\t" << stored.getId().cStr() << "\n";
    }
  }
  if (print_ids) std::cout << std::flush;
  return Status::Ok();
}

int RunBulk(const GlobalOptions& global, const SubmitOptions& o) {
  std::optional<protocol::BulkFormat> format;
  if (!o.format.empty()) {
    format = protocol::ParseBulkFormat(o.format);
    if (!format) {
      return Fail(InvalidInput("unknown --format '" + o.format +
                               "' (txt, csv, jsonl)"));
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
  bool more = true;
  while (more) {
    capnp::MallocMessageBuilder message;
    auto submit = message.initRoot<protocol::wire::Request>().initSubmit();
    // Collect one batch; lines the reader itself rejects are reported here.
    std::vector<protocol::BulkItem> batch;
    protocol::BulkItem item;
    while (batch.size() < kBatchLines && (more = reader.Next(&item))) {
      ++totals.lines;
      if (item.error) {
        ++totals.rejected;
        std::cerr << "\r" << source << ":" << item.line << ": " << *item.error
                  << "\n";
        continue;
      }
      batch.push_back(std::move(item));
      item = protocol::BulkItem();
    }
    if (batch.empty()) break;
    auto items = submit.initItems(static_cast<unsigned>(batch.size()));
    for (unsigned i = 0; i < batch.size(); ++i) {
      Status s = FillSubmission(items[i], o.context, batch[i]);
      if (!s.ok()) return Fail(s);
    }
    Status s = SendBatch(**client, message, source, o.print_ids, totals);
    if (!s.ok()) {
      if (progress) PrintProgress(totals, true);
      return Fail(s);
    }
    if (progress) PrintProgress(totals, false);
  }
  if (progress) PrintProgress(totals, true);
  if (global.json) {
    PrintJson({{"lines", totals.lines},
               {"stored", totals.stored},
               {"unchanged", totals.unchanged},
               {"rejected", totals.rejected}});
  } else if (!o.print_ids) {
    std::cout << totals.lines << " lines: " << totals.stored << " stored, "
              << totals.unchanged << " unchanged, " << totals.rejected
              << " rejected\n";
  }
  return totals.rejected > 0 && totals.stored + totals.unchanged == 0 ? 4 : 0;
}

int RunSingle(const GlobalOptions& global, const SubmitOptions& o) {
  capnp::MallocMessageBuilder message;
  auto items =
      message.initRoot<protocol::wire::Request>().initSubmit().initItems(1);
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
    return Fail(InvalidInput(results[0].getError().cStr()));
  }
  auto stored = results[0].getStored();
  if (global.json) {
    PrintJson({{"id", stored.getId().cStr()},
               {"revision", stored.getRevision()},
               {"unchanged", stored.getUnchanged()}});
  } else {
    std::cout << stored.getId().cStr() << "\n";
  }
  return 0;
}

}  // namespace

int RunSubmit(const GlobalOptions& global, const SubmitOptions& o) {
  return o.file.empty() ? RunSingle(global, o) : RunBulk(global, o);
}

}  // namespace caravan::tools
