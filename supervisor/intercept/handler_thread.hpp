// The bind handler runs on a thread of portsafe-run for the job's whole life. Why a thread of
// portsafe-run and not portsafed: the listener is born in portsafe-run's child, portsafe-run
// already lives exactly as long as the job (its death is the job's end: COMMAND gets SIGTERM, the
// supervisor releases the holds), and the claims need an owner that dies with the job, so nothing
// leaks past it. When portsafe-run dies the listener closes with it and every notified bind fails
// at once with ENOSYS: nothing in the job can hang on a dead handler. One thread per job costs no
// cross-job locking, and a bug in one job's handler stays in that job.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "intercept/bind_handler.hpp"
#include "portsafe/unique_fd.hpp"

namespace portsafe::intercept {

class HandlerThread {
 public:
  // Starts serving; the table must outlive nothing but the thread (it is kept here).
  HandlerThread(std::unique_ptr<PortTable> table, UniqueFd listener, HandlerSettings settings);
  ~HandlerThread();  // stop()
  HandlerThread(const HandlerThread&) = delete;
  HandlerThread& operator=(const HandlerThread&) = delete;

  // Ends the job's interception: the thread releases every claim it made and ends.
  void stop();
  // True once the thread has ended (after stop(), or on its own after a failure).
  bool finished() const noexcept { return finished_.load(std::memory_order_acquire); }

 private:
  void run();

  std::unique_ptr<PortTable> table_;
  std::unique_ptr<BindHandler> handler_;
  UniqueFd stop_event_;
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

}  // namespace portsafe::intercept
