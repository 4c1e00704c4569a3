#pragma once
// TaxiiHandler: the TAXII 2.1 API (docs/taxii.md) as a function from one
// HTTP request to one HTTP response, plus the plain blocklist feeds at
// /feeds/. No sockets here (taxii_server.h owns those), so the protocol is
// testable without a network.
//
// Objects are served from the store's log: every record (object version)
// has a date_added derived from its local log order, strictly increasing
// (see DateIndex in the .cc and docs/taxii.md). Listings page by log seq;
// the `next` token encodes the filters and the cursor under a MAC
// (taxii_page_token.h), so it alone continues a listing and cannot be
// forged; every cap is re-applied to it.
//
// Threading: Handle blocks on SQLite; call it on the worker pool, from any
// number of threads at once.

#include <boost/beast/http.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "daemon/feeds/taxii_accounts.h"
#include "daemon/feeds/taxii_page_token.h"
#include "daemon/store/reader.h"
#include "daemon/store/store.h"
#include "protocol/formats/bulk_reader.h"

namespace caravan::feeds {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

inline constexpr std::string_view kTaxiiMediaType =
    "application/taxii+json;version=2.1";

// What became of one submitted item.
struct SubmitOutcome {
  std::string error;           // "" = stored or unchanged
  protocol::IndicatorId id{};  // the indicator it is now part of (if stored)
};
// Submits imported items as `actor`; one outcome per item, in order.
// Blocking.
using SubmitFn = std::function<std::vector<SubmitOutcome>(
    const std::vector<protocol::BulkItem>&, const std::string& actor)>;

struct TaxiiOptions {
  std::string title = "caravan";   // the node name
  uint32_t page_size_max = 1000;
  uint64_t max_request_bytes = 8 * 1024 * 1024;
  size_t max_scan = 50000;  // log records examined per listing request
  // Serve records of members removed from the roster ([taxii]
  // include_removed); off, they are left out of every listing and feed.
  bool include_removed = false;
};

class TaxiiHandler {
 public:
  // `store` must outlive the handler. `submit` may be empty (then no
  // collection is writable).
  TaxiiHandler(store::Store& store, TaxiiAccounts accounts, SubmitFn submit,
               TaxiiOptions options);
  ~TaxiiHandler();

  // Serves `request` for the authenticated `account`. Never throws for bad
  // requests: every failure is an HTTP error response with a TAXII error
  // JSON body.
  HttpResponse Handle(const HttpRequest& request, const TaxiiAccount& account);
  // The refusal (403) of a request whose head announces a body that
  // `account` may not send (only writers POST objects); nullopt when the
  // body may be read. Cheap: runs on the io thread before the body is read.
  std::optional<HttpResponse> RefuseBeforeBody(
      const HttpRequest& header, const TaxiiAccount& account) const;
  const TaxiiAccounts& accounts() const { return accounts_; }

  struct DateIndex;  // log seq -> date_added (private detail)

 private:
  struct Scope;
  HttpResponse Route(const HttpRequest& request, const TaxiiAccount& caller,
                     store::Reader& reader);
  // POST .../objects/ once the caller may write: import, submit, keep the
  // posted ids, answer the status resource.
  HttpResponse AddObjects(const HttpRequest& request,
                          const TaxiiAccount& account, store::Reader& reader);

  store::Store& store_;
  TaxiiAccounts accounts_;
  SubmitFn submit_;
  TaxiiOptions options_;
  std::unique_ptr<DateIndex> dates_;
  std::unique_ptr<PageTokenSealer> tokens_;  // `next` tokens (MACed)
  std::mutex readers_mu_;
  std::vector<std::unique_ptr<store::Reader>> idle_readers_;
  std::mutex status_mu_;
  std::map<std::string, std::string> statuses_;  // status id -> JSON
};

// The name and password of an "Authorization: Basic" header; nullopt when
// there is none or it is malformed.
struct Credentials {
  std::string name;
  std::string password;
};
std::optional<Credentials> BasicCredentials(const HttpRequest& header);

// A TAXII error response (JSON body; 401 carries WWW-Authenticate) for a
// request of which only the head may have been read.
HttpResponse TaxiiErrorResponse(const HttpRequest& header,
                                http::status status, std::string title,
                                std::string description = "");

// TAXII timestamps: "2026-01-02T03:04:05.123456Z" from Unix microseconds,
// and back (fraction optional, at most 6 digits); nullopt when malformed.
std::string TaxiiTime(int64_t unix_micros);
std::optional<int64_t> ParseTaxiiTime(std::string_view text);

}  // namespace caravan::feeds
