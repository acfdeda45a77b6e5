#include "intercept/handler_thread.hpp"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "intercept/intercept_mode.hpp"

#include "portsafe/log.hpp"

namespace portsafe::intercept {
namespace {

void report_handler_stopped(const std::string& reason) {
  log_error("the seccomp bind handler stopped ({}); binds in this job now fail with ENOSYS "
            "(function not implemented); rerun with --intercept preload",
            reason);
}

}  // namespace

HandlerThread::HandlerThread(std::unique_ptr<PortTable> table, UniqueFd listener, HandlerSettings settings)
    : table_(std::move(table)),
      handler_(std::make_unique<BindHandler>(std::move(listener), *table_, std::move(settings))),
      stop_event_(::eventfd(0, EFD_CLOEXEC)) {
  if (!stop_event_) {
    // Without a way to wake it, the thread could never be stopped and portsafe-run would hang at
    // exit: serve nothing, and close the listener so the job's binds fail at once instead.
    const int error = errno;
    handler_.reset();
    finished_.store(true, std::memory_order_release);
    report_handler_stopped(fmt::format("it cannot start: eventfd: {}", std::strerror(error)));
    return;
  }
  thread_ = std::thread([this] { run(); });
}

HandlerThread::~HandlerThread() { stop(); }

void HandlerThread::stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  (void)!::write(stop_event_.get(), &one, sizeof one);
  thread_.join();
}

void HandlerThread::run() {
  ::pthread_setname_np(::pthread_self(), kHandlerThreadName);
  std::string reason;
  try {
    reason = handler_->serve(stop_event_.get());
  } catch (const std::exception& e) {
    reason = e.what();
  } catch (...) {
    reason = "unexpected failure";
  }
  // Closing the listener is what keeps the job from hanging: every bind waiting for an answer,
  // and every later one, fails with ENOSYS.
  handler_.reset();
  if (!reason.empty()) {
    report_handler_stopped(reason);
  }
  finished_.store(true, std::memory_order_release);
}

}  // namespace portsafe::intercept
