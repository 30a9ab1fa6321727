# One 1 MB file sent N times to one local reader, in one of several ways (sendfile, splice through a 1 MiB pipe,
# pread into a buffer and send, mmap and send, from memory): server CPU ms per send. See bench/NOTES-retr-1mb.md.
# usage: python3 send-server.py MODE FILE N & python3 read-client.py N SIZE   (port 22219, loopback)
import socket, os, sys, mmap, time
mode, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); ls.bind(('127.0.0.1', 22219)); ls.listen(1)
print("ready", flush=True)
c, _ = ls.accept(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
size = os.path.getsize(path)
mem = open(path,'rb').read()
t0 = os.times()
for i in range(n):
    c.recv(16)
    c.send(b"+OK\r\n")
    fd = os.open(path, os.O_RDONLY)
    if mode == 'sendfile':
        off = 0
        while off < size: off += os.sendfile(c.fileno(), fd, off, size - off)
    elif mode == 'mmap':
        m = mmap.mmap(fd, size, prot=mmap.PROT_READ, flags=mmap.MAP_SHARED | getattr(mmap, 'MAP_POPULATE', 0x8000))
        c.sendall(m); m.close()
    elif mode == 'pread':
        c.sendall(os.pread(fd, size, 0))
    elif mode.startswith('chunk'):
        k = int(mode[5:]) * 1024; off = 0
        b = bytearray(k); mv = memoryview(b)
        while off < size:
            r = os.preadv(fd, [mv], off); c.sendall(mv[:r]); off += r
    elif mode == 'cork':
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1); off = 0
        while off < size: off += os.sendfile(c.fileno(), fd, off, size - off)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
    elif mode == 'splice':
        import fcntl
        if i == 0:
            global pr, pw
            pr, pw = os.pipe(); fcntl.fcntl(pw, 1031, 1 << 20)
        off = 0
        while off < size:
            k = os.splice(fd, pw, size - off, offset_src=off); off += k
            while k > 0: k -= os.splice(pr, c.fileno(), k)
    elif mode == 'mem':
        c.sendall(mem)
    os.close(fd)
    c.send(b".\r\n")
t1 = os.times()
print(mode, "server cpu ms/op %.3f (user %.3f sys %.3f)" % (((t1.user+t1.system)-(t0.user+t0.system))*1000/n, (t1.user-t0.user)*1000/n, (t1.system-t0.system)*1000/n), "wall ms/op %.3f" % ((t1.elapsed-t0.elapsed)*1000/n))
