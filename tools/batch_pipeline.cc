#include "tools/batch_pipeline.h"

namespace caravan::tools {

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
    if (second.ok()) connections_.push_back(std::move(*second));
  }
  // Until the second connection's first reply shows the daemon took it
  // (one at its max_connections refuses it "retry later"), nothing more is
  // sent: a refused request then goes again on the first connection
  // before any later one, so requests are still run in file order.
  while (!second_confirmed_ && OnSecondConnection() > 0) {
    CARAVAN_RETURN_IF_ERROR(DeliverOldest());
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

size_t BatchPipeline::OnSecondConnection() const {
  size_t n = 0;
  for (const auto& f : in_flight_) n += f.connection != 0;
  return n;
}

Status BatchPipeline::Finish() {
  while (!in_flight_.empty()) CARAVAN_RETURN_IF_ERROR(DeliverOldest());
  return Status::Ok();
}

Status BatchPipeline::DeliverOldest() {
  InFlight oldest = std::move(in_flight_.front());
  in_flight_.pop_front();
  auto reply = oldest.reply.get();
  if (oldest.connection != 0 && reply.ok() &&
      (*reply)->status().code() == StatusCode::kRetryLater) {
    // The daemon did not run it: refused at accept (its max_connections is
    // taken) or busy. Run it once more on the first connection, after
    // anything in flight there, and go on with that one alone.
    for (auto& f : in_flight_) f.reply.wait();
    connections_.resize(1);
    second_tried_ = true;
    reply = connections_[0]->Call(*oldest.request);
  } else if (oldest.connection != 0) {
    second_confirmed_ = true;
  }
  if (!reply.ok()) return reply.status();
  CARAVAN_RETURN_IF_ERROR((*reply)->status());
  return on_reply_(**reply);
}

}  // namespace caravan::tools
