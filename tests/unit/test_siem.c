/* audit/siem: the RFC 5424 line (exact form, nil values, escaping, length limits,
 * control characters and bytes that are not UTF-8) and its sending over real sockets:
 * a UDP socket, a unix datagram socket, a receiver that never reads (sends dropped
 * and counted, never blocking), a receiver that appears later. Every datagram
 * received is parsed by an independent RFC 5424 parser (a python3 regex). */
#define _GNU_SOURCE
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "audit/siem.h"

/* Parses stdin as one RFC 5424 line; prints PRI|TIMESTAMP|HOST|APP|PROCID|MSGID and
 * then name=value per SD param (unescaped) and MSG=..., one per line; exits 1 when
 * the line is not RFC 5424. */
static const char parser_py[] =
    "import re, sys\n"
    "line = sys.stdin.buffer.read().decode('utf-8')\n"
    "hdr = re.match(r'<([0-9]{1,3})>1 (-|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z) '\n"
    "               r'([!-~]{1,255}) ([!-~]{1,48}) ([!-~]{1,128}) ([!-~]{1,32}) ', line)\n"
    "if not hdr or int(hdr.group(1)) > 191: sys.exit(1)\n"
    "rest = line[hdr.end():]\n"
    "sd = re.match(r'\\[([^ =\\]\"]{1,32})((?: [^ =\\]\"]{1,32}=\"(?:[^\"\\\\\\]]|\\\\.)*\")*)\\]', rest)\n"
    "if not sd: sys.exit(1)\n"
    "print('|'.join(hdr.groups()))\n"
    "print('SD-ID=' + sd.group(1))\n"
    "for name, value in re.findall(r' ([^ =\\]\"]+)=\"((?:[^\"\\\\\\]]|\\\\.)*)\"', sd.group(2)):\n"
    "    print(name + '=' + re.sub(r'\\\\(.)', r'\\1', value))\n"
    "msg = rest[sd.end():]\n"
    "if msg and not msg.startswith(' '): sys.exit(1)\n"
    "if msg: print('MSG=' + msg[1:])\n";

/* The parser's output for line (in out); 0 when the line parses. */
static int parse_5424(const char *line, size_t len, char *out, size_t cap)
{
    char dir_tmpl[] = "/tmp/lifeline-siem-XXXXXX", script[256], in[256], res[256], cmd[900];
    assert_non_null(mkdtemp(dir_tmpl));
    snprintf(script, sizeof script, "%s/p.py", dir_tmpl);
    snprintf(in, sizeof in, "%s/line", dir_tmpl);
    snprintf(res, sizeof res, "%s/out", dir_tmpl);
    FILE *f = fopen(script, "w");
    fputs(parser_py, f);
    fclose(f);
    f = fopen(in, "wb");
    fwrite(line, 1, len, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "python3 %s < %s > %s", script, in, res);
    int rc = system(cmd);
    f = fopen(res, "r");
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir_tmpl);
    assert_int_equal(system(cmd), 0);
    return rc;
}

static void exact_line(void **state)
{
    (void)state;
    siem_record r = {.actor = "agent",
                     .action = "recover",
                     .target = "backend",
                     .outcome = "ok",
                     .message = "backend recovered",
                     .incident = 12,
                     .audit_seq = 7,
                     .at_ms = 1764600000123LL,
                     .hostname = "zone-a-1",
                     .msgid = "recovery",
                     .pid = 42};
    char line[SIEM_LINE_MAX + 1];
    int n = siem_format(&r, line, sizeof line);
    const char *want = "<30>1 2025-12-01T14:40:00.123000Z zone-a-1 lifeline 42 recovery [lifeline@32473 "
                       "actor=\"agent\" action=\"recover\" target=\"backend\" outcome=\"ok\" incident=\"12\" "
                       "seq=\"7\"] backend recovered";
    assert_string_equal(line, want);
    assert_int_equal(n, (int)strlen(want));
    /* severity given, facility local0, another app name */
    r.severity = SIEM_CRIT;
    r.facility = siem_facility_code("local0");
    r.app = "lifeline-watch";
    assert_true(siem_format(&r, line, sizeof line) > 0);
    assert_true(!strncmp(line, "<130>1 ", 7));
    assert_non_null(strstr(line, " lifeline-watch 42 "));
    /* the outcome decides when severity is 0 */
    r = (siem_record){.outcome = "failed"};
    siem_format(&r, line, sizeof line);
    assert_true(!strncmp(line, "<27>1 ", 6));
    r.outcome = "escalated";
    siem_format(&r, line, sizeof line);
    assert_true(!strncmp(line, "<26>1 ", 6));
}

/* Nothing set: NILVALUEs in the header, an SD element without params, no MSG. */
static void nil_values(void **state)
{
    (void)state;
    siem_record r = {0};
    char line[SIEM_LINE_MAX + 1], parsed[4096];
    siem_format(&r, line, sizeof line);
    assert_string_equal(line, "<29>1 - - lifeline - - [lifeline@32473]");
    assert_int_equal(parse_5424(line, strlen(line), parsed, sizeof parsed), 0);
    assert_string_equal(parsed, "29|-|-|lifeline|-|-\nSD-ID=lifeline@32473\n");
    r.message = ""; /* an empty message is no message */
    r.hostname = "";
    siem_format(&r, line, sizeof line);
    assert_string_equal(line, "<29>1 - - lifeline - - [lifeline@32473]");
}

/* '"', '\' and ']' escaped in values; control characters (a newline) become spaces;
 * bytes that are not UTF-8 '?'; UTF-8 kept; header fields printable ASCII only. */
static void escaping_and_bytes(void **state)
{
    (void)state;
    siem_record r = {.actor = "a\"b\\c]d",
                     .action = "line1\nline2\r\t",
                     .target = "z\xc3\xbcrich \xff\xc3",
                     .outcome = "ok",
                     .message = "two\nlines and ] \" \\ kept \xe2\x82\xac \xed\xa0\x80",
                     .hostname = "host name\n",
                     .msgid = "m\xc3\xbc",
                     .at_ms = 1};
    char line[SIEM_LINE_MAX + 1], parsed[4096];
    int n = siem_format(&r, line, sizeof line);
    assert_true(n > 0);
    assert_null(strchr(line, '\n'));
    assert_non_null(strstr(line, "actor=\"a\\\"b\\\\c\\]d\""));
    assert_non_null(strstr(line, " host_name_ "));
    assert_non_null(strstr(line, " m__ "));
    assert_non_null(strstr(line, "1970-01-01T00:00:00.001000Z"));
    assert_int_equal(parse_5424(line, (size_t)n, parsed, sizeof parsed), 0);
    assert_non_null(strstr(parsed, "\nactor=a\"b\\c]d\n"));
    assert_non_null(strstr(parsed, "\naction=line1 line2  \n"));
    assert_non_null(strstr(parsed, "\ntarget=z\xc3\xbcrich ??\n"));
    /* a surrogate (ED A0 80) is not UTF-8: three '?' */
    assert_non_null(strstr(parsed, "\nMSG=two lines and ] \" \\ kept \xe2\x82\xac ???\n"));
}

/* Long fields are cut: a value at SIEM_VALUE_MAX (never mid-escape, never mid-character),
 * the whole line at SIEM_LINE_MAX, header fields at the RFC's lengths. */
static void length_bounds(void **state)
{
    (void)state;
    char big[10001], quotes[301], euros[3 * 1000 + 1], line[SIEM_LINE_MAX + 1], parsed[8192];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memset(quotes, '"', sizeof quotes - 1);
    quotes[sizeof quotes - 1] = '\0';
    for (int i = 0; i < 1000; i++)
        memcpy(euros + 3 * i, "\xe2\x82\xac", 3);
    euros[sizeof euros - 1] = '\0';
    siem_record r = {.actor = big, .action = quotes, .target = euros, .message = big, .hostname = big,
                     .msgid = big, .app = big, .pid = 1};
    int n = siem_format(&r, line, sizeof line);
    assert_int_equal(n, SIEM_LINE_MAX);
    assert_int_equal(parse_5424(line, (size_t)n, parsed, sizeof parsed), 0);
    char want[SIEM_VALUE_MAX + 16];
    snprintf(want, sizeof want, "\nactor=%.*s\n", SIEM_VALUE_MAX, big);
    assert_non_null(strstr(parsed, want));
    /* 128 escaped quotes fill 256 bytes */
    const char *a = strstr(parsed, "\naction=");
    assert_int_equal(strcspn(a + 8, "\n"), 128);
    /* 85 whole euro signs (255 bytes), not 86 (258) nor a broken one */
    const char *t = strstr(parsed, "\ntarget=");
    assert_int_equal(strcspn(t + 8, "\n"), 255);
    /* hostname 255, app 48, msgid 32 */
    snprintf(want, sizeof want, "29|-|%.255s|%.48s|1|%.32s\n", big, big, big);
    assert_true(!strncmp(parsed, want, strlen(want)));
    assert_non_null(strstr(line, " 1 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx [lifeline@32473"));
    /* the message of euro signs is cut whole */
    r.message = euros;
    n = siem_format(&r, line, sizeof line);
    assert_true(n > SIEM_LINE_MAX - 3 && n <= SIEM_LINE_MAX);
    assert_int_equal(parse_5424(line, (size_t)n, parsed, sizeof parsed), 0);
    /* a buffer too small for header and structured data */
    char tiny[40];
    assert_int_equal(siem_format(&r, tiny, sizeof tiny), -1);
    assert_int_equal(siem_format(&r, tiny, 0), -1);
    /* room for the header and SD only: the message is dropped, the line still valid */
    siem_record s = {.actor = "a", .message = "a message"};
    char exact[64];
    n = siem_format(&s, exact, strlen("<29>1 - - lifeline - - [lifeline@32473 actor=\"a\"]") + 1);
    assert_string_equal(exact, "<29>1 - - lifeline - - [lifeline@32473 actor=\"a\"]");
}

static void names_and_specs(void **state)
{
    (void)state;
    assert_int_equal(siem_facility_code("daemon"), 3);
    assert_int_equal(siem_facility_code("local7"), 23);
    assert_int_equal(siem_facility_code("authpriv"), 10);
    assert_int_equal(siem_facility_code("local8"), -1);
    assert_int_equal(siem_facility_code(NULL), -1);
    assert_int_equal(siem_severity("OK"), SIEM_INFO);
    assert_int_equal(siem_severity("dead"), SIEM_ERR);
    assert_int_equal(siem_severity("retry"), SIEM_WARNING);
    assert_int_equal(siem_severity(NULL), SIEM_NOTICE);
    char err[200];
    static const char *const good[] = {"off", "local", "udp://127.0.0.1:514", "udp://[::1]:514",
                                       "udp://siem.example:6514", "unix:/run/rsyslog/siem.sock"};
    static const char *const bad[] = {"", "on", "tcp://h:514", "udp://h", "udp://:514", "udp://h:0",
                                      "udp://h:65536", "udp://h:51x", "udp://h:514/x", "unix:relative",
                                      "unix:/a/very/long/path/that/is/longer/than/the/one/hundred/and/eight/bytes/"
                                      "a/unix/socket/address/can/hold/and/then/some/more/of/it"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (siem_spec_check(good[i], err, sizeof err) != 0)
            fail_msg("'%s' refused: %s", good[i], err);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (siem_spec_check(bad[i], err, sizeof err) != -1)
            fail_msg("'%s' accepted", bad[i]);
    siem *s = NULL;
    assert_int_equal(siem_open("tcp://h:1", NULL, &s), ERR_USAGE);
    assert_null(s);
    assert_non_null(strstr(err_msg(), "syslog: 'tcp://h:1' is not"));
    /* off: sends nothing, fails nothing */
    assert_int_equal(siem_open("off", NULL, &s), 0);
    siem_record r = {.action = "x"};
    assert_int_equal(siem_send(s, &r), 0);
    uint64_t sent, dropped;
    siem_counts(s, &sent, &dropped);
    assert_int_equal(sent + dropped, 0);
    siem_close(&s);
    assert_null(s);
    siem_close(&s);
    assert_int_equal(siem_send(NULL, &r), 0);
}

/* One datagram from fd within 2 s; its length. */
static ssize_t receive(int fd, char *out, size_t cap)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 2000) != 1)
        return -1;
    return recv(fd, out, cap, 0);
}

static void check_received(const char *line, ssize_t n)
{
    char parsed[4096], want[128];
    assert_true(n > 0);
    assert_int_equal(parse_5424(line, (size_t)n, parsed, sizeof parsed), 0);
    snprintf(want, sizeof want, "|lifeline-test|%d|probe\n", (int)getpid());
    assert_non_null(strstr(parsed, want));
    assert_true(!strncmp(parsed, "172|20", 6)); /* local5 (21) * 8 + warning (4); this century */
    assert_non_null(strstr(parsed, "\ntarget=web]1\n"));
    assert_non_null(strstr(parsed, "\nincident=3\n"));
    assert_non_null(strstr(parsed, "\nMSG=web degraded\n"));
}

static const siem_record sample = {.actor = "agent", .action = "probe", .target = "web]1", .outcome = "degraded",
                                   .message = "web degraded", .incident = 3, .audit_seq = 99, .msgid = "probe"};

static void over_udp(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    char spec[64], line[SIEM_LINE_MAX + 1];
    snprintf(spec, sizeof spec, "udp://127.0.0.1:%d", ntohs(a.sin_port));
    siem *s;
    assert_int_equal(siem_open(spec, "lifeline-test", &s), 0);
    siem_set_facility(s, siem_facility_code("local5"));
    assert_int_equal(siem_send(s, &sample), 0);
    ssize_t n = receive(fd, line, sizeof line - 1);
    check_received(line, n);
    uint64_t sent, dropped;
    siem_counts(s, &sent, &dropped);
    assert_int_equal(sent, 1);
    assert_int_equal(dropped, 0);
    siem_close(&s);
    close(fd);
    /* a name that does not resolve: refused at open, within the 2 s the resolver gets */
    time_t t0 = time(NULL);
    assert_int_equal(siem_open("udp://no-such-host.invalid:514", NULL, &s), ERR_SOURCE);
    assert_true(time(NULL) - t0 <= 3);
    assert_non_null(strstr(err_msg(), "syslog udp://no-such-host.invalid:514"));
}

static int unix_receiver(const char *path, int rcvbuf)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    if (rcvbuf)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void over_unix_socket(void **state)
{
    (void)state;
    char *dir = tu_tempdir(), path[256], spec[300], line[SIEM_LINE_MAX + 1];
    snprintf(path, sizeof path, "%s/log.sock", dir);
    snprintf(spec, sizeof spec, "unix:%s", path);
    /* no receiver yet: open works, the send is dropped and counted */
    siem *s;
    assert_int_equal(siem_open(spec, "lifeline-test", &s), 0);
    siem_set_facility(s, siem_facility_code("local5"));
    err_set(ERR_DAMAGED, "the caller's error");
    assert_int_equal(siem_send(s, &sample), ERR_IO);
    assert_string_equal(err_msg(), "the caller's error"); /* left alone */
    /* the receiver comes: the next send reaches it */
    int fd = unix_receiver(path, 0);
    assert_int_equal(siem_send(s, &sample), 0);
    check_received(line, receive(fd, line, sizeof line - 1));
    /* it goes and comes back (a restarted syslog daemon): dropped, then delivered */
    close(fd);
    unlink(path);
    assert_int_equal(siem_send(s, &sample), ERR_IO);
    fd = unix_receiver(path, 0);
    assert_int_equal(siem_send(s, &sample), 0);
    check_received(line, receive(fd, line, sizeof line - 1));
    uint64_t sent, dropped;
    siem_counts(s, &sent, &dropped);
    assert_int_equal(sent, 2);
    assert_int_equal(dropped, 2);
    siem_close(&s);
    close(fd);
    tu_rmrf(dir);
}

/* A receiver that never reads: its queue fills, later sends are dropped at once. */
static void full_receiver_never_blocks(void **state)
{
    (void)state;
    char *dir = tu_tempdir(), path[256], spec[300];
    snprintf(path, sizeof path, "%s/slow.sock", dir);
    snprintf(spec, sizeof spec, "unix:%s", path);
    int fd = unix_receiver(path, 4096);
    siem *s;
    assert_int_equal(siem_open(spec, NULL, &s), 0);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 3000; i++)
        (void)siem_send(s, &sample);
    clock_gettime(CLOCK_MONOTONIC, &b);
    uint64_t sent, dropped;
    siem_counts(s, &sent, &dropped);
    assert_int_equal(sent + dropped, 3000);
    assert_true(sent > 0);
    assert_true(dropped > 0);
    int64_t ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    assert_true(ms < 2000);
    /* the queued ones are whole lines */
    char line[SIEM_LINE_MAX + 1], parsed[4096];
    ssize_t n = receive(fd, line, sizeof line - 1);
    assert_int_equal(parse_5424(line, (size_t)n, parsed, sizeof parsed), 0);
    siem_close(&s);
    close(fd);
    tu_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_line),
        cmocka_unit_test(nil_values),
        cmocka_unit_test(escaping_and_bytes),
        cmocka_unit_test(length_bounds),
        cmocka_unit_test(names_and_specs),
        cmocka_unit_test(over_udp),
        cmocka_unit_test(over_unix_socket),
        cmocka_unit_test(full_receiver_never_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
