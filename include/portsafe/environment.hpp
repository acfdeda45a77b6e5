// The names every part of portsafe honours (see README "Environment").
#pragma once

namespace portsafe::env {

inline constexpr const char* kRange = "PORTSAFE_RANGE";              // LOW-HIGH
inline constexpr const char* kJob = "PORTSAFE_JOB";                  // the job's display name
inline constexpr const char* kJobId = "PORTSAFE_JOB_ID";             // leader identity PID.START
inline constexpr const char* kRuntimeDir = "PORTSAFE_RUNTIME_DIR";   // runtime root override
inline constexpr const char* kLog = "PORTSAFE_LOG";                  // off|warn|info|debug
inline constexpr const char* kLinger = "PORTSAFE_LINGER";            // seconds a picked port lingers
inline constexpr const char* kPortPrefix = "PORTSAFE_PORT_";         // + NAME, upper-cased, '-' -> '_'
inline constexpr const char* kIntercept = "PORTSAFE_INTERCEPT";    // seccomp|preload: the job's interception
inline constexpr const char* kRealPortPrefix = "PORTSAFE_REAL_PORT_";  // + virtual port: its real port
// Shim mode of --virtual only: "8080/tcp=23456,53/udp=23457" (virtual/proto=real, comma-separated).
inline constexpr const char* kVirtual = "PORTSAFE_VIRTUAL";
// bpf mode of --virtual: the same wire form, the ports the kernel rewrites; the claim rules leave
// binds to them to the kernel (BindScope::kernel_virtual in bind_rules.hpp).
inline constexpr const char* kVirtualKernel = "PORTSAFE_VIRTUAL_KERNEL";
inline constexpr const char* kDockerProxy = "PORTSAFE_DOCKER_PROXY";  // real docker-proxy to launch

}  // namespace portsafe::env
