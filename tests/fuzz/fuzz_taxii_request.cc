// Fuzz: the TAXII 2.1 surface (daemon/feeds/taxii_handler.h) from raw
// bytes: Beast's HTTP request parser with the server's limits
// (taxii_server.cc), then TaxiiHandler::Handle on an empty store, with no
// daemon and no socket. Routing, query strings, `next` tokens, headers
// and POSTed envelopes (STIX import) are all reached.
//
// The login is decided from the request head before the handler runs
// (taxii_login_guard.h), so the handler always serves an account: the
// first input byte chooses which, bit 0 a read-write account with every
// collection up to TLP red, else a read-only one limited to "received" and
// TLP clear. Both go through RefuseBeforeBody first, as the server does.
// Invariant checked: every request gets a response with a status in
// 200..599, and no request is answered 5xx (a bad request is the client's
// error).
#include <stdlib.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "daemon/feeds/taxii_accounts.h"
#include "daemon/feeds/taxii_handler.h"
#include "daemon/store/store.h"

namespace {

namespace http = boost::beast::http;
using namespace caravan;

struct World {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<feeds::TaxiiHandler> handler;
};

World* MakeWorld() {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "fuzz-taxii-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  auto store = store::Store::Open(tmpl + "/caravan.db");
  if (!store.ok()) std::abort();
  auto hash = feeds::HashTaxiiPassword("fuzz-password");
  if (!hash.ok()) std::abort();
  auto accounts = feeds::TaxiiAccounts::Parse(
      "[[account]]\nname = \"fuzz\"\npassword_hash = \"" + *hash +
      "\"\ncollections = [\"received\", \"own\", \"all\"]\n"
      "max_tlp = \"red\"\ncan_write = true\n");
  if (!accounts.ok()) std::abort();
  feeds::TaxiiOptions options;
  options.max_request_bytes = 1 << 20;
  auto* world = new World;  // lives for the process (static, not a leak)
  world->store = std::move(*store);
  world->handler = std::make_unique<feeds::TaxiiHandler>(
      *world->store, std::move(*accounts),
      [](const std::vector<protocol::BulkItem>& items, const std::string&) {
        // All "stored", each as a distinct indicator, so posted ids get
        // kept and looked up like on a real node.
        std::vector<feeds::SubmitOutcome> out(items.size());
        for (size_t i = 0; i < items.size(); ++i) {
          out[i].id[0] = static_cast<uint8_t>(i);
          out[i].id[1] = static_cast<uint8_t>(i >> 8);
        }
        return out;
      },
      options);
  return world;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = MakeWorld();
  if (size == 0) return 0;
  const bool writer = (data[0] & 1) != 0;
  ++data;
  --size;

  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::system::error_code ec;
  size_t used = 0;
  while (!ec && !parser.is_done() && used < size) {
    const size_t n = parser.put(boost::asio::buffer(data + used, size - used), ec);
    if (n == 0) break;
    used += n;
  }
  // put_eof asserts that some of the message was read: an input the
  // parser consumed nothing of is simply no request.
  if (!ec && !parser.is_done() && parser.got_some()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;
  feeds::HttpRequest request = parser.release();
  static const feeds::TaxiiAccount kWriter{
      "fuzz", "", {"received", "own", "all"}, protocol::Tlp::kRed, true};
  static const feeds::TaxiiAccount kReader{
      "reader", "", {"received"}, protocol::Tlp::kClear, false};
  const feeds::TaxiiAccount& account = writer ? kWriter : kReader;
  feeds::HttpResponse response;
  if (auto refused = world->handler->RefuseBeforeBody(request, account)) {
    response = std::move(*refused);
  } else {
    response = world->handler->Handle(request, account);
  }
  const unsigned status = response.result_int();
  if (status < 200 || status > 599) std::abort();
  if (status >= 500) std::abort();
  return 0;
}
