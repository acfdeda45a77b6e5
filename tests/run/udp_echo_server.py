"""A UDP echo server on PORTSAFE_PORT_U (bound to the wildcard address, as most servers are):
prints "ready PORT" once bound, then answers every datagram with its own bytes."""
import os
import socket
import sys

port = int(os.environ["PORTSAFE_PORT_U"])
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("0.0.0.0", port))
print("ready", port, flush=True)
while True:
    data, peer = server.recvfrom(2048)
    server.sendto(data, peer)
sys.exit(0)
