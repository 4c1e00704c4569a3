// Fuzz: the TAXII 2.1 surface (daemon/feeds/taxii_handler.h) from raw
// bytes: Beast's HTTP request parser with the server's limits
// (taxii_server.cc), then TaxiiHandler::Handle on an empty store, with no
// daemon and no socket. Routing, query strings, `next` tokens, headers
// and POSTed envelopes (STIX import) are all reached.
//
// The first input byte chooses the credentials: bit 0 adds a valid Basic
// Authorization header for a read-write account (a fuzzer cannot guess
// one), otherwise the request's own header, if any, is used. Invariant
// checked: every request gets a response with a status in 200..599, and
// no request is answered 5xx (a bad request is the client's error).
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

// "Basic " + base64("fuzz:fuzz-password").
constexpr char kAuth[] = "Basic ZnV6ejpmdXp6LXBhc3N3b3Jk";

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
        return std::vector<std::string>(items.size());  // all "stored"
      },
      options);
  return world;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = MakeWorld();
  if (size == 0) return 0;
  const bool add_auth = (data[0] & 1) != 0;
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
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;
  feeds::HttpRequest request = parser.release();
  if (add_auth) request.set(http::field::authorization, kAuth);

  feeds::HttpResponse response = world->handler->Handle(request);
  const unsigned status = response.result_int();
  if (status < 200 || status > 599) std::abort();
  if (status >= 500) std::abort();
  return 0;
}
