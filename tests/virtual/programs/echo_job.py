"""Runs inside a job: a server on a hard-coded port that answers with the job's id, and a client
of it on the same hard-coded port. Between the two it waits at a barrier, so every job of a test
has its server up at once. Prints one JSON line of what it saw.

usage: echo_job.py --id ID --barrier DIR [--port 8080] [--proto tcp|udp] [--family 4|6|6w]
                   [--connect ADDRESS]
"""
import argparse
import json
import os
import socket
import sys
import threading
import time


def wait_for_go(barrier, job_id):
    open(os.path.join(barrier, f"ready-{job_id}"), "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(barrier, "go")):
        if time.monotonic() > deadline:
            sys.exit("echo_job: no go at the barrier within 60 s")
        time.sleep(0.01)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--id", required=True)
    p.add_argument("--barrier", required=True)
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--proto", default="tcp")
    p.add_argument("--family", default="4")
    p.add_argument("--connect")
    args = p.parse_args()
    # 4: 0.0.0.0; 6: [::1]; 6w: [::] (dual stack, so ::ffff:127.0.0.1 reaches it too)
    family = socket.AF_INET6 if args.family.startswith("6") else socket.AF_INET
    bind_to = {"4": "0.0.0.0", "6": "::1", "6w": "::"}[args.family]
    target = args.connect or ("::1" if args.family.startswith("6") else "127.0.0.1")
    kind = socket.SOCK_DGRAM if args.proto == "udp" else socket.SOCK_STREAM
    seen = {}

    # No SO_REUSEADDR: a program that never sets it must bind its virtual port all the same.
    server = socket.socket(family, kind)
    server.bind((bind_to, args.port))
    seen["server_sockname"] = server.getsockname()[1]
    if kind == socket.SOCK_STREAM:
        server.listen(8)

    def serve():
        while True:
            if kind == socket.SOCK_STREAM:
                conn, _ = server.accept()
                seen["accepted_sockname"] = conn.getsockname()[1]
                conn.sendall(args.id.encode())
                conn.close()
            else:
                data, source = server.recvfrom(100)
                seen["server_saw_client_port"] = source[1]
                server.sendto(args.id.encode(), source)

    threading.Thread(target=serve, daemon=True).start()
    wait_for_go(args.barrier, args.id)

    client = socket.socket(socket.AF_INET6 if ":" in target else socket.AF_INET, kind)
    client.settimeout(10)
    if kind == socket.SOCK_STREAM:
        client.connect((target, args.port))
        seen["client_peername"] = client.getpeername()[1]
        seen["reply"] = client.recv(100).decode()
    else:
        client.sendto(b"who", (target, args.port))
        reply, source = client.recvfrom(100)
        seen["reply"] = reply.decode()
        seen["reply_from_port"] = source[1]
    seen["real_port"] = int(os.environ.get(f"PORTSAFE_REAL_PORT_{args.port}", "0"))
    seen["virtual_env"] = os.environ.get("PORTSAFE_VIRTUAL")
    print(json.dumps(seen), flush=True)


if __name__ == "__main__":
    main()
