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
    return Status::Ok();
  }

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

TEST(BatchPipelineTest, KeepsTwoRequestsInFlightOnTwoConnections) {
  // Each odd batch is answered only once the next batch has arrived: a
  // pipeline that waited for one reply before sending more would get the
  // error instead.
  FakeControlServer server([](FakeControlServer& s, uint64_t batch) {
    Answer a;
    if (batch % 2 == 1 && !s.WaitForRequest(batch + 1)) {
      a.status = Internal("batch " + std::to_string(batch + 1) +
                          " did not arrive while " + std::to_string(batch) +
                          " was unanswered");
    }
    return a;
  });
  Delivered delivered;
  {
    BatchPipeline pipeline(ConnectOrDie(server), delivered.Fn());
    uint64_t failed_at = 0;
    Status s = SendAll(pipeline, 6, &failed_at);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  EXPECT_EQ(delivered.batches(), Range(6));
  EXPECT_EQ(server.max_outstanding(), 2u);
  EXPECT_EQ(server.connections(), 2u);
  auto on = server.batch_connections();
  EXPECT_NE(on[1], on[2]) << "two batches in flight share a connection";
  EXPECT_NE(on[3], on[4]);
}

TEST(BatchPipelineTest, RepliesKeepSendOrderWhenTheLaterBatchIsAnsweredFirst) {
  // Each odd batch is answered only after the next one's reply has been
  // written, so the client receives the replies of every pair reversed.
  FakeControlServer server([](FakeControlServer& s, uint64_t batch) {
    Answer a;
    if (batch % 2 == 1 && !s.WaitForAnswered(batch + 1)) {
      a.status = Internal("batch " + std::to_string(batch + 1) +
                          " was not answered first");
    }
    return a;
  });
  Delivered delivered;
  {
    BatchPipeline pipeline(ConnectOrDie(server), delivered.Fn());
    uint64_t failed_at = 0;
    Status s = SendAll(pipeline, 6, &failed_at);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  EXPECT_EQ(server.answer_order(),
            (std::vector<uint64_t>{2, 1, 4, 3, 6, 5}));
  EXPECT_EQ(delivered.batches(), Range(6)) << "replies out of file order";
}

TEST(BatchPipelineTest, LostConnectionFailsOnceAndLaterRepliesAreNotReported) {
  // Batch 2's connection drops without a reply; batch 3, sent on the other
  // connection before that surfaces, is answered (the daemon stored it).
  FakeControlServer server([](FakeControlServer&, uint64_t batch) {
    Answer a;
    a.close = batch == 2;
    return a;
  });
  Delivered delivered;
  Status failure;
  uint64_t failed_at = 0;
  {
    BatchPipeline pipeline(ConnectOrDie(server), delivered.Fn());
    failure = SendAll(pipeline, 5, &failed_at);
    // The pipeline is dropped here, as the CLI does after a failure; its
    // destructor waits for batch 3's reply and must not report it.
  }
  EXPECT_EQ(failure.code(), StatusCode::kUnavailable) << failure.ToString();
  EXPECT_NE(failure.message().find("closed the connection"), std::string::npos)
      << failure.message();
  EXPECT_NE(failure.message().find(server.socket_path().string()),
            std::string::npos)
      << "the message must name the socket: " << failure.message();
  // Batch 2's outcome is due when batch 4 needs a connection: in file
  // order, after batch 1 was reported and before anything later.
  EXPECT_EQ(failed_at, 4u);
  EXPECT_TRUE(server.WaitForAnswered(3));
  EXPECT_EQ(delivered.batches(), (std::vector<uint64_t>{1}))
      << "a batch after the lost one was reported, or one twice";
}

TEST(BatchPipelineTest, DaemonRefusalOfABatchStopsWithTheDaemonsStatus) {
  FakeControlServer server([](FakeControlServer&, uint64_t batch) {
    Answer a;
    if (batch == 2) a.status = RetryLater("store is busy, try again");
    return a;
  });
  Delivered delivered;
  BatchPipeline pipeline(ConnectOrDie(server), delivered.Fn());
  uint64_t failed_at = 0;
  Status s = SendAll(pipeline, 3, &failed_at);
  EXPECT_EQ(s.code(), StatusCode::kRetryLater) << s.ToString();
  EXPECT_EQ(s.message(), "store is busy, try again");
  EXPECT_EQ(failed_at, 0u) << "batch 2 is due at Finish (3 went out first)";
  EXPECT_EQ(delivered.batches(), (std::vector<uint64_t>{1}));
}

TEST(BatchPipelineTest, ReplyFnFailureStopsDelivery) {
  FakeControlServer server([](FakeControlServer&, uint64_t) {
    return Answer();
  });
  std::vector<uint64_t> seen;
  BatchPipeline pipeline(
      ConnectOrDie(server), [&seen](const ControlReply& reply) -> Status {
        const uint64_t batch =
            reply.response().getSubmitResult().getResults()[0].getLine() /
            kLinesPerBatch;
        seen.push_back(batch);
        if (batch == 2) return InvalidInput("cannot write --print-ids");
        return Status::Ok();
      });
  uint64_t failed_at = 0;
  Status s = SendAll(pipeline, 5, &failed_at);
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput);
  EXPECT_EQ(s.message(), "cannot write --print-ids");
  EXPECT_EQ(failed_at, 4u);
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2}));
}

TEST(BatchPipelineTest, WithoutASecondConnectionSendsOneAtATimeInOrder) {
  FakeControlServer server([](FakeControlServer&, uint64_t) {
    return Answer();
  });
  auto first = ConnectOrDie(server);
  // The second connect fails (ENOENT); the pipeline goes on with one.
  server.RemoveSocketFile();
  Delivered delivered;
  {
    BatchPipeline pipeline(std::move(first), delivered.Fn());
    uint64_t failed_at = 0;
    Status s = SendAll(pipeline, 4, &failed_at);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  EXPECT_EQ(delivered.batches(), Range(4));
  EXPECT_EQ(server.connections(), 1u);
  EXPECT_EQ(server.max_outstanding(), 1u);
}

TEST(BatchPipelineTest, FinishWithNothingSentIsOk) {
  FakeControlServer server([](FakeControlServer&, uint64_t) {
    return Answer();
  });
  Delivered delivered;
  BatchPipeline pipeline(ConnectOrDie(server), delivered.Fn());
  EXPECT_TRUE(pipeline.Finish().ok());
  EXPECT_TRUE(delivered.batches().empty());
}

}  // namespace
}  // namespace caravan::tools
