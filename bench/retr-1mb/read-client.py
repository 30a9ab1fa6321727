# The reader for send-server.py: asks N times, reads SIZE + 8 octets each time (+OK line, file, ".") with a 64 KiB buffer.
import socket, sys
n, size = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(('127.0.0.1', 22219)); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
buf = bytearray(65536); need = size + 5 + 3
for i in range(n):
    s.send(b"R\r\n"); got = 0
    while got < need: got += s.recv_into(buf)
