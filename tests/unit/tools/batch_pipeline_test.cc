// BatchPipeline (tools/batch_pipeline.h), the engine of `caravan submit
// --file`, against a fake caravand on a real Unix socket. Interleavings are
// forced by the fake server holding a reply until another request arrived
// or another reply was written: no sleeps, no timing assertions.

#include "tools/batch_pipeline.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/tools/fake_control_server.h"

namespace caravan::tools {
namespace {

using testing::FakeControlServer;
using testing::kLinesPerBatch;
using testing::MakeBatch;
using Answer = FakeControlServer::Answer;

// Records the batches the pipeline hands to its ReplyFn, in order, after
// checking that each reply is one whole batch's answer.
class Delivered {
 public:
  // With `fail_on` > 0, the ReplyFn records that batch, then fails.
  explicit Delivered(uint64_t fail_on = 0) : fail_on_(fail_on) {}
  BatchPipeline::ReplyFn Fn() {
    return [this](const ControlReply& reply) { return Record(reply); };
  }
  const std::vector<uint64_t>& batches() const { return batches_; }

 private:
  Status Record(const ControlReply& reply) {
    auto response = reply.response();
    if (!response.isSubmitResult()) return Internal("not a submit result");
    auto results = response.getSubmitResult().getResults();
    if (results.size() == 0) return Internal("empty submit result");
    const uint64_t batch = results[0].getLine() / kLinesPerBatch;
    for (unsigned i = 0; i < results.size(); ++i) {
      if (results[i].getLine() != batch * kLinesPerBatch + i) {
        return Internal("reply mixes batches");
      }
    }
    batches_.push_back(batch);
    if (batch == fail_on_) {
      return InvalidInput("ReplyFn refused batch " + std::to_string(batch));
    }
    return Status::Ok();
  }

  uint64_t fail_on_;
  std::vector<uint64_t> batches_;
};

// The first connection, as the CLI opens it before building a pipeline.
std::unique_ptr<ControlClient> ConnectOrDie(const FakeControlServer& server) {
  auto client = ControlClient::Connect(server.socket_path());
  if (!client.ok()) {
    ADD_FAILURE() << client.status().ToString();
    std::abort();
  }
  return std::move(*client);
}

// Sends batches 1..n like the CLI (stop at the first failure, else
// Finish); the first failure (ok if none) and in *failed_at the batch
// whose Send failed (0 when it was Finish or nothing failed).
Status SendAll(BatchPipeline& pipeline, uint64_t n, uint64_t* failed_at) {
  *failed_at = 0;
  for (uint64_t b = 1; b <= n; ++b) {
    Status s = pipeline.Send(MakeBatch(b));
    if (!s.ok()) {
      *failed_at = b;
      return s;
    }
  }
  return pipeline.Finish();
}

std::vector<uint64_t> Range(uint64_t n) {
  std::vector<uint64_t> out;
  for (uint64_t b = 1; b <= n; ++b) out.push_back(b);
  return out;
}

// What one run of the CLI's loop gave.
struct PipelineRun {
  Status status;               // the first failure; ok if none
  uint64_t failed_at = 0;      // the batch whose Send failed; 0: none/Finish
  std::vector<uint64_t> delivered;  // batches reported, in order
};

// The CLI's use of a pipeline on `first` (a new connection to `server` if
// null): batches 1..n, then the pipeline is dropped whether or not it
// failed; its destructor waits for what is still in flight. With
// `reply_fn_fails_on`, the ReplyFn fails on that batch.
PipelineRun RunPipeline(const FakeControlServer& server, uint64_t n,
                uint64_t reply_fn_fails_on = 0,
                std::unique_ptr<ControlClient> first = nullptr) {
  PipelineRun run;
  Delivered delivered(reply_fn_fails_on);
  {
    BatchPipeline pipeline(first ? std::move(first) : ConnectOrDie(server),
                           delivered.Fn());
    run.status = SendAll(pipeline, n, &run.failed_at);
  }
  run.delivered = delivered.batches();
  return run;
}

Answer CloseConnection() {
  Answer a;
  a.close = true;
  return a;
}

Answer Refuse(Status status) {
  Answer a;
  a.status = std::move(status);
  return a;
}

// A handler answering every batch but `batch` normally, and that one with
// `special`.
FakeControlServer::Handler AnswerAllBut(uint64_t batch, Answer special) {
  return [batch, special](FakeControlServer&, uint64_t b) {
    return b == batch ? special : Answer();
  };
}

// A handler holding each odd batch's answer until `(server.*ready)(batch
// + 1)`; if that never holds, the answer is an error saying `what` failed.
FakeControlServer::Handler HoldOddBatchesUntil(
    bool (FakeControlServer::*ready)(uint64_t), std::string what) {
  return [ready, what](FakeControlServer& s, uint64_t batch) {
    Answer a;
    if (batch % 2 == 1 && !(s.*ready)(batch + 1)) {
      a.status = Internal("batch " + std::to_string(batch) + " held: " +
                          what + " for batch " + std::to_string(batch + 1));
    }
    return a;
  };
}

TEST(BatchPipelineTest, KeepsTwoRequestsInFlightOnTwoConnections) {
  // Each odd batch is answered only once the next batch has arrived: a
  // pipeline that waited for one reply before sending more would get the
  // error instead. Each even batch also waits for the odd one before it:
  // otherwise, on a loaded machine, the server thread of the second
  // connection could read and answer batch 2 before the first one read
  // batch 1, and the server would never see two outstanding at once.
  FakeControlServer server([](FakeControlServer& s, uint64_t batch) {
    const uint64_t partner = batch % 2 == 1 ? batch + 1 : batch - 1;
    Answer a;
    if (!s.WaitForRequest(partner)) {
      a.status = Internal("batch " + std::to_string(batch) +
                          " held: no request arrived for batch " +
                          std::to_string(partner));
    }
    return a;
  });
  PipelineRun run = RunPipeline(server, 6);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.delivered, Range(6));
  EXPECT_EQ(server.max_outstanding(), 2u);
  EXPECT_EQ(server.connections(), 2u);
  auto on = server.batch_connections();
  EXPECT_NE(on[1], on[2]) << "two batches in flight share a connection";
  EXPECT_NE(on[3], on[4]);
}

TEST(BatchPipelineTest, RepliesKeepSendOrderWhenTheLaterBatchIsAnsweredFirst) {
  // Each odd batch is answered only after the next one's reply has been
  // written, so the client receives the replies of every pair reversed.
  FakeControlServer server(HoldOddBatchesUntil(
      &FakeControlServer::WaitForAnswered, "no reply was written"));
  PipelineRun run = RunPipeline(server, 6);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(server.answer_order(),
            (std::vector<uint64_t>{2, 1, 4, 3, 6, 5}));
  EXPECT_EQ(run.delivered, Range(6)) << "replies out of file order";
}

TEST(BatchPipelineTest, LostConnectionFailsOnceAndLaterRepliesAreNotReported) {
  // Batch 2's connection drops without a reply; batch 3, sent on the other
  // connection before that surfaces, is answered (the daemon stored it).
  FakeControlServer server(AnswerAllBut(2, CloseConnection()));
  // RunPipeline drops the pipeline after the failure as the CLI does: its
  // destructor waits for batch 3's reply and must not report it.
  PipelineRun run = RunPipeline(server, 5);
  EXPECT_EQ(run.status.code(), StatusCode::kUnavailable)
      << run.status.ToString();
  EXPECT_NE(run.status.message().find("closed the connection"),
            std::string::npos)
      << run.status.message();
  EXPECT_NE(run.status.message().find(server.socket_path().string()),
            std::string::npos)
      << "the message must name the socket: " << run.status.message();
  // Batch 2's outcome is due when batch 4 needs a connection: in file
  // order, after batch 1 was reported and before anything later.
  EXPECT_EQ(run.failed_at, 4u);
  EXPECT_TRUE(server.WaitForAnswered(3));
  EXPECT_EQ(run.delivered, (std::vector<uint64_t>{1}))
      << "a batch after the lost one was reported, or one twice";
}

TEST(BatchPipelineTest, DaemonRefusalOfABatchStopsWithTheDaemonsStatus) {
  FakeControlServer server(
      AnswerAllBut(2, Refuse(RetryLater("store is busy, try again"))));
  PipelineRun run = RunPipeline(server, 3);
  EXPECT_EQ(run.status.code(), StatusCode::kRetryLater)
      << run.status.ToString();
  EXPECT_EQ(run.status.message(), "store is busy, try again");
  EXPECT_EQ(run.failed_at, 0u) << "batch 2 is due at Finish (3 went first)";
  EXPECT_EQ(run.delivered, (std::vector<uint64_t>{1}));
}

TEST(BatchPipelineTest, ReplyFnFailureStopsDelivery) {
  FakeControlServer server(AnswerAllBut(0, Answer()));
  PipelineRun run = RunPipeline(server, 5, /*reply_fn_fails_on=*/2);
  EXPECT_EQ(run.status.code(), StatusCode::kInvalidInput);
  EXPECT_EQ(run.status.message(), "ReplyFn refused batch 2");
  EXPECT_EQ(run.failed_at, 4u);
  EXPECT_EQ(run.delivered, (std::vector<uint64_t>{1, 2}))
      << "delivery went on after the ReplyFn failed";
}

TEST(BatchPipelineTest, WithoutASecondConnectionSendsOneAtATimeInOrder) {
  FakeControlServer server(AnswerAllBut(0, Answer()));
  auto first = ConnectOrDie(server);
  // The second connect fails (ENOENT); the pipeline goes on with one.
  server.RemoveSocketFile();
  PipelineRun run = RunPipeline(server, 4, 0, std::move(first));
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.delivered, Range(4));
  EXPECT_EQ(server.connections(), 1u);
  EXPECT_EQ(server.max_outstanding(), 1u);
}

// A daemon at its max_connections refuses the second connection ("retry
// later" at accept): the pipeline learns it before sending a batch there
// and runs every batch on the first connection, once each, in order.
TEST(BatchPipelineTest, ARefusedSecondConnectionLeavesOneInFlight) {
  FakeControlServer server(AnswerAllBut(0, Answer()));
  server.RefuseConnectionsBeyond(1);
  PipelineRun run = RunPipeline(server, 5);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.delivered, Range(5));
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_EQ(server.refused(), 1u);
  EXPECT_EQ(server.max_outstanding(), 1u);
  for (const auto& [batch, connection] : server.batch_connections()) {
    EXPECT_EQ(connection, 0u) << "batch " << batch;
  }
}

TEST(BatchPipelineTest, NothingSentNothingReported) {
  FakeControlServer server(AnswerAllBut(0, Answer()));
  PipelineRun run = RunPipeline(server, 0);
  EXPECT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_TRUE(run.delivered.empty());
  EXPECT_EQ(server.max_outstanding(), 0u);
}

}  // namespace
}  // namespace caravan::tools
