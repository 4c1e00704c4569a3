#include "tools/batch_pipeline.h"

#include "protocol/control.capnp.h"

namespace caravan::tools {
namespace {

// Whether the daemon took `connection`: one at its max_connections
// answers "retry later" at once and closes. Asked with the cheapest
// request (`key show`) before any batch goes on it, so no batch is ever
// refused there and batches are still run in file order.
bool Admitted(ControlClient& connection) {
  capnp::MallocMessageBuilder probe;
  probe.initRoot<protocol::wire::Request>().setKeyShow();
  auto reply = connection.Call(probe);
  return reply.ok() && (*reply)->status().ok();
}

}  // namespace

BatchPipeline::BatchPipeline(std::unique_ptr<ControlClient> first,
                             ReplyFn on_reply)
    : on_reply_(std::move(on_reply)) {
  connections_.push_back(std::move(first));
}

BatchPipeline::~BatchPipeline() {
  // The tasks use our connections and requests: they must end first.
  for (auto& f : in_flight_) f.reply.wait();
}

Status BatchPipeline::Send(
    std::unique_ptr<capnp::MallocMessageBuilder> request) {
  if (!in_flight_.empty() && connections_.size() == 1 && !second_tried_) {
    second_tried_ = true;
    auto second = ControlClient::Connect(connections_[0]->path(),
                                         connections_[0]->limits());
    if (second.ok() && Admitted(**second)) {
      connections_.push_back(std::move(*second));
    }
  }
  while (in_flight_.size() >= connections_.size()) {
    CARAVAN_RETURN_IF_ERROR(DeliverOldest());
  }
  size_t free_connection = 0;
  while (true) {
    bool busy = false;
    for (const auto& f : in_flight_) busy |= f.connection == free_connection;
    if (!busy) break;
    ++free_connection;
  }
  ControlClient* client = connections_[free_connection].get();
  capnp::MallocMessageBuilder* message = request.get();
  auto call = [client, message] { return client->Call(*message); };
  in_flight_.push_back({std::move(request),
                        std::async(std::launch::async, std::move(call)),
                        free_connection});
  return Status::Ok();
}

Status BatchPipeline::Finish() {
  while (!in_flight_.empty()) CARAVAN_RETURN_IF_ERROR(DeliverOldest());
  return Status::Ok();
}

Status BatchPipeline::DeliverOldest() {
  InFlight oldest = std::move(in_flight_.front());
  in_flight_.pop_front();
  auto reply = oldest.reply.get();
  if (!reply.ok()) return reply.status();
  CARAVAN_RETURN_IF_ERROR((*reply)->status());
  return on_reply_(**reply);
}

}  // namespace caravan::tools
