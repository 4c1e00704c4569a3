#include "tools/structured_source.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "protocol/formats/misp_stream.h"
#include "protocol/formats/stix_stream.h"

namespace caravan::tools {
namespace {

// Copies stdin to a temporary file (unlinked at once, so it goes when the
// stream closes) and returns it open for reading from the start.
Result<std::unique_ptr<std::istream>> SpoolStdin() {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") +
                     "/caravan-submit-XXXXXX";
  const int fd = mkstemp(path.data());
  if (fd < 0) return Unavailable("cannot create a temporary file in " + path);
  close(fd);
  auto file = std::make_unique<std::fstream>(
      path, std::ios::in | std::ios::out | std::ios::binary | std::ios::trunc);
  unlink(path.c_str());
  if (!*file) return Unavailable("cannot open temporary file " + path);
  char block[64 * 1024];
  while (std::cin.read(block, sizeof block) || std::cin.gcount() > 0) {
    if (!file->write(block, std::cin.gcount())) {
      return Unavailable("cannot write temporary file " + path +
                         " (stdin is copied there to be read twice; disk full?)");
    }
  }
  file->flush();
  file->seekg(0);
  if (!*file) return Unavailable("cannot read back temporary file " + path);
  return std::unique_ptr<std::istream>(std::move(file));
}

}  // namespace

Result<std::unique_ptr<std::istream>> OpenStructuredInput(const std::string& path) {
  if (path == "-") return SpoolStdin();
  auto file = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*file) return NotFound("cannot open " + path);
  return std::unique_ptr<std::istream>(std::move(file));
}

std::string DetectJsonFormat(std::istream& in) {
  const std::streampos start = in.tellg();
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  in.clear();
  in.seekg(start);
  if (head.find("\"Event\"") != std::string::npos ||
      head.find("\"response\"") != std::string::npos) {
    return "misp";
  }
  return "stix";
}

Status StreamStructured(std::istream& in, const std::string& format,
                        const std::string& source, const ImportEmit& emit) {
  if (format == "stix") {
    protocol::StixStreamSink sink;
    sink.item = [&](protocol::StixImportItem&& it) -> Status {
      if (it.revoked) {
        // A revocation is a signed act of the origin; an import cannot
        // make one for it.
        std::cerr << source << ": object " << it.item.line << ": "
                  << it.stix_id << ": revoked indicator not imported\n";
        emit.skipped();
        return Status::Ok();
      }
      return emit.item(std::move(it.item));
    };
    sink.skipped = [&](const protocol::StixSkipped& sk) {
      std::cerr << source << ": object " << sk.index << ": " << sk.reason << "\n";
      emit.skipped();
    };
    auto totals = protocol::StreamStixImport(in, sink);
    return totals.ok() ? Status::Ok() : totals.status();
  }
  protocol::MispStreamSink sink;
  sink.item = [&](protocol::MispImportItem&& it) {
    return emit.item(std::move(it.item));
  };
  sink.skipped = [&](const protocol::MispSkipped& sk) {
    std::cerr << source << ": " << sk.reason << "\n";
    emit.skipped();
  };
  auto totals = protocol::StreamMispImport(in, sink);
  return totals.ok() ? Status::Ok() : totals.status();
}

}  // namespace caravan::tools
