/* siem — every action of the agent as one syslog line for a SIEM: RFC 5424 with the
 * fields a SIEM indexes in structured data ([lifeline@32473 actor= action= target=
 * outcome= incident= seq=]), sent as one datagram to the local syslog socket, a unix
 * datagram socket or a UDP collector. Sending never blocks: a datagram the socket
 * cannot take at once is dropped and counted (the audit trail and the state database
 * are the records that must not lose anything; this is their copy for the SIEM). */
#ifndef LL_SIEM_H
#define LL_SIEM_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"

/* Severities of RFC 5424 (as <syslog.h> numbers them). */
enum {
    SIEM_EMERG = 0, SIEM_ALERT, SIEM_CRIT, SIEM_ERR, SIEM_WARNING, SIEM_NOTICE, SIEM_INFO, SIEM_DEBUG
};
/* The facility used when none is set: daemon (3), what a system service logs as. */
#define SIEM_FACILITY_DEFAULT 3
/* A whole line (the datagram) is at most this long: the size RFC 5424 says every
 * receiver should accept (section 6.1); the message is cut to fit. */
#define SIEM_LINE_MAX 2048
/* Each structured-data value, after escaping, is at most this long. */
#define SIEM_VALUE_MAX 256
/* The structured data's SD-ID. 32473 is the private enterprise number IANA keeps for
 * documentation (RFC 5612): a site that needs its own changes it here. */
#define SIEM_SD_ID "lifeline@32473"

typedef struct siem_record {
    /* 1..7 as above; 0 (emergency, which lifeline never sends) means: from the
     * outcome (siem_severity) */
    int severity;
    /* NULL: the param is left out of the structured data */
    const char *actor, *action, *target, *outcome;
    const char *message; /* free text, the MSG part; NULL: none */
    int64_t incident;    /* 0: none */
    uint64_t audit_seq;  /* the audit record's sequence number; 0: none */
    int64_t at_ms;       /* Unix time in ms; 0: NILVALUE in siem_format, now in siem_send */
    const char *hostname, *msgid; /* NULL: NILVALUE ("-"); siem_send puts the host name */
    /* Filled by siem_send from the handle; for siem_format alone: */
    const char *app; /* APP-NAME; NULL: "lifeline" */
    int pid;         /* PROCID; 0: NILVALUE */
    int facility;    /* 0..23; 0 (kern, never ours) means SIEM_FACILITY_DEFAULT */
} siem_record;

typedef struct siem siem;

/* The RFC 5424 line of r in out (NUL-terminated, no newline): its length, or -1 when
 * cap cannot hold even the header and structured data (SIEM_LINE_MAX + 1 always can).
 * Pure. Header fields are printable US-ASCII (anything else becomes '_'), cut to the
 * RFC's lengths; SD values escape '"', '\' and ']', and the MSG is plain UTF-8 without
 * a BOM; in both, control characters (a newline) become spaces and bytes that are not
 * UTF-8 become '?'. */
int siem_format(const siem_record *r, char *out, size_t cap);
/* The severity an outcome implies: ok/success/healthy/recovered/delivered info,
 * degraded/retry/held/warning warning, failed/error/dead err, escalated/escalation
 * crit, anything else (NULL too) notice. */
int siem_severity(const char *outcome);
/* A facility's code by name (kern user mail daemon auth syslog lpr news uucp cron
 * authpriv ftp local0..local7); -1 when unknown. */
int siem_facility_code(const char *name);

/* 0 when spec is one siem_open takes: off | local | udp://HOST:PORT | unix:PATH;
 * else -1 with why in err. */
int siem_spec_check(const char *spec, char *err, size_t cap);
/* Opens the destination (spec NULL is local: /dev/log). A socket that is not there
 * yet (no syslog daemon, a collector started later) is no error: sends are dropped
 * and counted, and a unix socket is connected again on the next send. ERR_USAGE for
 * a bad spec; ERR_SOURCE when udp://'s host cannot be resolved within 2 s. app is
 * the APP-NAME (NULL: "lifeline"); the facility is the default until set. */
int siem_open(const char *spec, const char *app, siem **out) WUR;
/* The facility of what s sends from now on (0..23; 0 means the default). */
void siem_set_facility(siem *s, int facility);
/* Formats r (at_ms 0: now; hostname NULL: this host's name) and sends it without
 * blocking. 0 when the datagram left (or the handle is off); ERR_IO when it was
 * dropped (counted). The thread's error record is left alone: a lost syslog line
 * must not replace the error a caller is about to report. Safe from several threads. */
int siem_send(siem *s, const siem_record *r);
/* Datagrams sent and dropped since siem_open (for /metrics). */
void siem_counts(const siem *s, uint64_t *sent, uint64_t *dropped);
void siem_close(siem **s);

#endif
