#pragma once
// FakeControlServer: a stand-in for caravand's control socket, for tests of
// the CLI's client side (ControlClient, BatchPipeline) over a real Unix
// socket. It speaks the real framing (protocol/control_framing.h) and
// answers Submit requests; what it does with each one is the test's
// Handler, which may block on the server's events (another request having
// arrived, another reply having been written) to force an interleaving
// without any sleep.
//
// A Submit request is identified by its batch number: the line of its first
// item divided by kLinesPerBatch (see MakeBatch). An answered Submit gets
// one stored result per item, echoing the item's line. A `key show` gets
// an empty ok reply (BatchPipeline asks it on its second connection).
//
// Ownership: the server owns its temp directory, listening socket, and one
// thread per accepted connection; the destructor shuts them all down and
// joins them. Thread-safe: the test thread may query it while connection
// threads serve.

#include <capnp/message.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "protocol/status.h"

namespace caravan::tools::testing {

inline constexpr uint64_t kLinesPerBatch = 1000;

// A Submit request of batch `batch` with `items` items on lines
// batch * kLinesPerBatch + 0, 1, ...
std::unique_ptr<capnp::MallocMessageBuilder> MakeBatch(uint64_t batch,
                                                       unsigned items = 3);

class FakeControlServer {
 public:
  // What to do with one request.
  struct Answer {
    bool close = false;   // close the connection without replying
    Status status;        // non-ok: reply with this code and message only
  };
  // Called on the connection's thread, without the server's lock, with the
  // server (to wait on its events) and the request's batch number.
  using Handler =
      std::function<Answer(FakeControlServer& server, uint64_t batch)>;

  // Upper bound of every wait in this server, so a test of a broken client
  // fails instead of hanging. Never reached when the client is right.
  static constexpr std::chrono::seconds kWaitBound{30};

  // Listens on a socket in a fresh temp dir; aborts if it cannot (no test
  // can run then). `handler` answers every request.
  explicit FakeControlServer(Handler handler);
  ~FakeControlServer();
  FakeControlServer(const FakeControlServer&) = delete;
  FakeControlServer& operator=(const FakeControlServer&) = delete;

  const std::filesystem::path& socket_path() const { return socket_path_; }

  // Removes the socket file: later connects fail (ENOENT), accepted
  // connections go on.
  void RemoveSocketFile();
  // Connections accepted from now on, beyond the first `n`, are refused as
  // caravand refuses one over its max_connections: a "retry later" reply
  // written at accept, then closed.
  void RefuseConnectionsBeyond(size_t n);

  // True once a request of `batch` has arrived; false if it has not within
  // kWaitBound.
  bool WaitForRequest(uint64_t batch);
  // True once the reply to `batch` has been written (or its connection
  // closed); false if not within kWaitBound.
  bool WaitForAnswered(uint64_t batch);

  // Connections accepted so far (refused ones included), and how many of
  // them were refused.
  size_t connections() const;
  size_t refused() const;
  // The most requests that were received and whose answer had not begun
  // at one time.
  size_t max_outstanding() const;
  // The connection index (0, 1, ... in accept order) each batch came on.
  std::map<uint64_t, size_t> batch_connections() const;
  // Batches in the order their answers began. (An answer begins only after
  // its handler returned, so a handler that waited for another batch's
  // answer to be written orders the two.)
  std::vector<uint64_t> answer_order() const;

 private:
  void AcceptLoop();
  void Serve(int fd, size_t connection);
  // Bookkeeping of a request's arrival, of its answer beginning and of it
  // having been written (or the connection closed).
  void OnRequest(uint64_t batch, size_t connection);
  void OnAnswering(uint64_t batch);
  void OnAnswered(uint64_t batch);

  Handler handler_;
  std::filesystem::path dir_;
  std::filesystem::path socket_path_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // a pipe written once on shutdown
  std::thread acceptor_;

  mutable std::mutex mu_;
  std::condition_variable changed_;
  bool stopping_ = false;
  std::vector<int> connection_fds_;
  std::vector<std::thread> connection_threads_;
  std::map<uint64_t, size_t> batch_connections_;
  std::set<uint64_t> answered_;
  std::vector<uint64_t> answer_order_;
  size_t refuse_beyond_ = SIZE_MAX;
  size_t refused_ = 0;
  size_t outstanding_ = 0;  // received, answer not begun
  size_t max_outstanding_ = 0;
};

}  // namespace caravan::tools::testing
