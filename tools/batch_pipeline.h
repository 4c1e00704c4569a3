#pragma once
// BatchPipeline: sends bulk Submit requests to caravand with two in flight,
// so the CLI reads and encodes the next batch (and the daemon validates it)
// while the previous one is being committed. The two requests travel on two
// connections, because the daemon answers one request at a time per
// connection; its store commits concurrent requests in one transaction.
//
// Replies are handed back strictly in the order the batches were sent, so
// per-line reports and --print-ids output keep file order. A batch is
// reported as stored only from its reply, that is after the daemon's commit.
//
// Thread-safety: one thread drives a pipeline; each in-flight request runs
// on its own std::async task that touches only its own connection.

#include <capnp/message.h>

#include <deque>
#include <functional>
#include <future>
#include <memory>

#include "protocol/status.h"
#include "tools/control_client.h"

namespace caravan::tools {

class BatchPipeline {
 public:
  // Called with each reply, in send order. A non-ok Status stops the
  // pipeline (Send and Finish return it).
  using ReplyFn = std::function<Status(const ControlReply&)>;

  // `first` is an open connection; a second one to the same socket is
  // opened on first need. If that fails, or the daemon refuses it (its
  // [control] max_connections taken), the pipeline runs with one request
  // in flight (still correct, only slower).
  BatchPipeline(std::unique_ptr<ControlClient> first, ReplyFn on_reply);
  ~BatchPipeline();
  BatchPipeline(const BatchPipeline&) = delete;
  BatchPipeline& operator=(const BatchPipeline&) = delete;

  // Sends `request` once a connection is free, first delivering the
  // oldest reply if both are busy. Fails with the transport error, the
  // daemon's Status for a whole request, or the ReplyFn's Status.
  Status Send(std::unique_ptr<capnp::MallocMessageBuilder> request);

  // Waits for every reply still outstanding and delivers them.
  Status Finish();

 private:
  struct InFlight {
    std::unique_ptr<capnp::MallocMessageBuilder> request;
    std::future<Result<std::unique_ptr<ControlReply>>> reply;
    size_t connection;
  };
  Status DeliverOldest();

  std::vector<std::unique_ptr<ControlClient>> connections_;
  bool second_tried_ = false;
  ReplyFn on_reply_;
  std::deque<InFlight> in_flight_;
};

}  // namespace caravan::tools
