#include "daemon/net/listener.h"

#include <sys/socket.h>

#include "daemon/observe/log.h"

namespace caravan::daemon::net {

std::string SourceOf(boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  return ec ? std::string() : endpoint.address().to_string();
}

std::string SourceOf(boost::asio::local::stream_protocol::socket& socket) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred,
                 &len) != 0) {
    return std::string();
  }
  return "uid " + std::to_string(cred.uid);
}

void LogIfThrown(const std::string& what, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    LogError(what, " failed: ", ex.what());
  } catch (...) {
    LogError(what, " failed: unknown exception");
  }
}

}  // namespace caravan::daemon::net
