"""Runs inside a job: for each port given, a server on 127.0.0.1:PORT and a client of it; prints
one line "PORT SOCKNAME PEERNAME REPLY" per port."""
import socket
import sys

for text in sys.argv[1:]:
    port = int(text)
    server = socket.socket()
    server.bind(("127.0.0.1", port))
    server.listen()
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn, _ = server.accept()
    conn.sendall(b"mine")
    print(port, server.getsockname()[1], client.getpeername()[1], client.recv(10).decode(), flush=True)
    for s in (conn, client, server):
        s.close()
