"""ha_pglib — statements against PostgreSQL with a hard deadline, for the HA test tools.

psycopg2's asynchronous mode lets every step (connect, send, wait for the answer) be bounded
by select() on the socket, so a frozen or partitioned server costs the caller at most the
deadline instead of TCP's minutes. Asynchronous connections are in autocommit mode: an
answered INSERT is committed (and, with synchronous replication, acknowledged by the standby).
"""
import select
import time

import psycopg2
import psycopg2.extensions as ext


class Timeout(Exception):
    pass


def _wait(conn, deadline):
    while True:
        state = conn.poll()
        if state == ext.POLL_OK:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout("deadline passed")
        fd = conn.fileno()
        if state == ext.POLL_READ:
            select.select([fd], [], [], left)
        elif state == ext.POLL_WRITE:
            select.select([], [fd], [], left)
        else:
            raise psycopg2.OperationalError("bad poll state %r" % state)


def connect(dsn, timeout_s):
    """An autocommit connection within timeout_s, or an exception."""
    deadline = time.monotonic() + timeout_s
    conn = psycopg2.connect(dsn, async_=1, connect_timeout=max(1, int(timeout_s)))
    try:
        _wait(conn, deadline)
    except BaseException:
        conn.close()
        raise
    return conn


def query(conn, sql, args=None, timeout_s=1.0):
    """Runs sql; returns all rows (or None). On Timeout the connection is unusable: close it."""
    deadline = time.monotonic() + timeout_s
    cur = conn.cursor()
    cur.execute(sql, args)
    _wait(conn, deadline)
    try:
        return cur.fetchall()
    except psycopg2.ProgrammingError:  # no result set
        return None


def close(conn):
    if conn is not None:
        try:
            conn.close()
        except Exception:
            pass
