"""fake_redis.py PORT RDB MODE FORM — a stand-in master that serves one snapshot
over the replication protocol, damaged on purpose, for the test that a damaged
transfer is refused. MODE: ok, truncate (the connection closes mid-RDB) or flip
(one bit of a value changed); FORM: len ($<length>) or eof ($EOF:<mark>, diskless).
Answers PING, AUTH, INFO, REPLCONF; serves PSYNC once per connection."""
import os
import socket
import sys

port, rdb_path, mode, form = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
rdb = bytearray(open(rdb_path, 'rb').read())
if mode == 'flip':
    rdb[len(rdb) // 2] ^= 0x10
elif mode == 'truncate':
    rdb = rdb[:len(rdb) * 2 // 3]


def read_command(f):
    line = f.readline()
    if not line:
        return None
    if not line.startswith(b'*'):
        return line.split()
    n = int(line[1:])
    args = []
    for _ in range(n):
        size = int(f.readline()[1:])
        args.append(f.read(size + 2)[:-2])
    return args


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', port))
srv.listen(4)
with open(os.environ.get('READY', '/dev/null'), 'w') as ready:
    ready.write('ready\n')
while True:
    conn, _ = srv.accept()
    f = conn.makefile('rwb')
    while True:
        cmd = read_command(f)
        if not cmd:
            break
        name = cmd[0].upper()
        if name == b'PSYNC':
            f.write(b'+FULLRESYNC ' + b'a' * 40 + b' 1234\r\n\n\n')
            if form == 'eof':
                mark = b'0123456789' * 4
                f.write(b'$EOF:' + mark + b'\r\n' + bytes(rdb) + (mark if mode != 'truncate' else b''))
            else:
                f.write(b'$%d\r\n' % len(open(rdb_path, 'rb').read()) + bytes(rdb))
            f.flush()
            break
        if name == b'INFO':
            body = b'# Server\r\nredis_version:7.0.15\r\n'
            f.write(b'$%d\r\n%s\r\n' % (len(body), body))
        elif name == b'PING':
            f.write(b'+PONG\r\n')
        else:
            f.write(b'+OK\r\n')
        f.flush()
    f.close()  # the file object holds the socket open: close both, or the client waits
    conn.close()
