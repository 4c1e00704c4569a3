#include "tests/unit/tools/fake_control_server.h"

#include <capnp/serialize.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "protocol/control.capnp.h"
#include "protocol/control_framing.h"

namespace caravan::tools::testing {
namespace {

// Waits until `fd` is readable (true) or the wake pipe says stop (false).
bool WaitReadable(int fd, int wake_fd) {
  for (;;) {
    pollfd p[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    const int n = poll(p, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (p[1].revents & POLLIN) != 0) return false;
    if (p[0].revents != 0) return true;
  }
}

bool SendAll(int fd, const std::vector<uint8_t>& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent,
                     MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// The framed Response to `request`: `status` alone if it is not ok, else
// one stored result per item.
std::vector<uint8_t> Reply(protocol::wire::Submit::Reader request,
                           const Status& status) {
  capnp::MallocMessageBuilder message;
  auto response = message.initRoot<protocol::wire::Response>();
  response.setCode(static_cast<uint8_t>(status.code()));
  if (!status.ok()) {
    response.setMessage(status.message());
    return protocol::FrameMessage(message);
  }
  auto items = request.getItems();
  auto results = response.initSubmitResult().initResults(items.size());
  for (unsigned i = 0; i < items.size(); ++i) {
    results[i].setLine(items[i].getLine());
    auto stored = results[i].initStored();
    stored.setId("id-" + std::to_string(items[i].getLine()));
    stored.setRevision(1);
  }
  return protocol::FrameMessage(message);
}

std::vector<uint8_t> StatusOnlyReply(const Status& status) {
  capnp::MallocMessageBuilder message;
  auto response = message.initRoot<protocol::wire::Response>();
  response.setCode(static_cast<uint8_t>(status.code()));
  response.setMessage(status.message());
  return protocol::FrameMessage(message);
}

}  // namespace

std::unique_ptr<capnp::MallocMessageBuilder> MakeBatch(uint64_t batch,
                                                       unsigned items) {
  auto message = std::make_unique<capnp::MallocMessageBuilder>();
  auto list = message->initRoot<protocol::wire::Request>()
                  .initSubmit()
                  .initItems(items);
  for (unsigned i = 0; i < items; ++i) {
    list[i].setValue("198.51.100." + std::to_string(i));
    list[i].setConfidence(-1);
    list[i].setLine(batch * kLinesPerBatch + i);
  }
  return message;
}

FakeControlServer::FakeControlServer(Handler handler)
    : handler_(std::move(handler)) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "cvt-ctl-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  dir_ = tmpl;
  socket_path_ = dir_ / "control.sock";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = socket_path_.string();
  if (path.size() >= sizeof addr.sun_path) std::abort();
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0 || pipe2(wake_, O_CLOEXEC) != 0 ||
      bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 8) != 0) {
    std::abort();
  }
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FakeControlServer::~FakeControlServer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  // One byte that is never read: every poll on the pipe sees it.
  const char wake = 1;
  (void)!write(wake_[1], &wake, 1);
  acceptor_.join();
  // No new thread starts once the acceptor has ended.
  for (auto& t : connection_threads_) t.join();
  for (int fd : connection_fds_) close(fd);
  close(listen_fd_);
  close(wake_[0]);
  close(wake_[1]);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void FakeControlServer::RemoveSocketFile() {
  std::filesystem::remove(socket_path_);
}

void FakeControlServer::RefuseConnectionsBeyond(size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  refuse_beyond_ = n;
}

size_t FakeControlServer::refused() const {
  std::lock_guard<std::mutex> lock(mu_);
  return refused_;
}

bool FakeControlServer::WaitForRequest(uint64_t batch) {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, kWaitBound, [&] {
    return stopping_ || batch_connections_.count(batch) > 0;
  }) && !stopping_;
}

bool FakeControlServer::WaitForAnswered(uint64_t batch) {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, kWaitBound, [&] {
    return stopping_ || answered_.count(batch) > 0;
  }) && !stopping_;
}

size_t FakeControlServer::connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connection_fds_.size();
}

size_t FakeControlServer::max_outstanding() const {
  std::lock_guard<std::mutex> lock(mu_);
  return max_outstanding_;
}

std::map<uint64_t, size_t> FakeControlServer::batch_connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batch_connections_;
}

std::vector<uint64_t> FakeControlServer::answer_order() const {
  std::lock_guard<std::mutex> lock(mu_);
  return answer_order_;
}

void FakeControlServer::AcceptLoop() {
  for (;;) {
    if (!WaitReadable(listen_fd_, wake_[0])) return;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    const size_t index = connection_fds_.size();
    connection_fds_.push_back(fd);
    if (index >= refuse_beyond_) {  // as caravand's listener refuses
      ++refused_;
      (void)SendAll(fd, StatusOnlyReply(
                            RetryLater("too many control connections (" +
                                       std::to_string(refuse_beyond_) + ")")));
      shutdown(fd, SHUT_RDWR);
      changed_.notify_all();
      continue;
    }
    connection_threads_.emplace_back([this, fd, index] { Serve(fd, index); });
    changed_.notify_all();
  }
}

void FakeControlServer::Serve(int fd, size_t connection) {
  protocol::FrameDecoder decoder;
  std::vector<uint8_t> buffer(64 * 1024);
  for (;;) {
    auto next = decoder.Next();
    if (!next.ok()) return;
    if (!next->has_value()) {
      if (!WaitReadable(fd, wake_[0])) return;
      const ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      decoder.Append(std::span<const uint8_t>(buffer.data(), size_t(n)));
      continue;
    }
    std::vector<capnp::word> words = std::move(**next);
    capnp::FlatArrayMessageReader reader(
        kj::arrayPtr(words.data(), words.size()),
        protocol::ControlReaderOptions());
    auto request = reader.getRoot<protocol::wire::Request>();
    if (request.isKeyShow()) {
      if (!SendAll(fd, StatusOnlyReply(Status::Ok()))) return;
      continue;
    }
    // Anything else but a non-empty Submit is a client bug here: hang up.
    if (!request.isSubmit() || request.getSubmit().getItems().size() == 0) {
      shutdown(fd, SHUT_RDWR);
      return;
    }
    const uint64_t batch =
        request.getSubmit().getItems()[0].getLine() / kLinesPerBatch;
    OnRequest(batch, connection);
    const Answer answer = handler_(*this, batch);
    // No longer outstanding before the first byte goes out: the client may
    // send its next request as soon as it has this reply.
    OnAnswering(batch);
    if (answer.close) {
      shutdown(fd, SHUT_RDWR);
      OnAnswered(batch);
      return;
    }
    const bool sent = SendAll(fd, Reply(request.getSubmit(), answer.status));
    OnAnswered(batch);
    if (!sent) return;
  }
}

void FakeControlServer::OnRequest(uint64_t batch, size_t connection) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch_connections_[batch] = connection;
    ++outstanding_;
    max_outstanding_ = std::max(max_outstanding_, outstanding_);
  }
  changed_.notify_all();
}

void FakeControlServer::OnAnswered(uint64_t batch) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    answered_.insert(batch);
  }
  changed_.notify_all();
}

void FakeControlServer::OnAnswering(uint64_t batch) {
  std::lock_guard<std::mutex> lock(mu_);
  --outstanding_;
  answer_order_.push_back(batch);
}

}  // namespace caravan::tools::testing
