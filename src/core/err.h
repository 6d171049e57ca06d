/* err — the one error convention of lifeline.
 * A failing function returns a non-zero err_code and leaves a one-line message
 * (what failed, the path or name, why) and an optional hint in a per-thread record. */
#ifndef LL_ERR_H
#define LL_ERR_H

#define WUR __attribute__((warn_unused_result))
#define PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Exit codes are stable: scripts rely on them (see README "Exit codes"). */
typedef enum {
    ERR_OK = 0,
    ERR_FATAL = 1,      /* anything without a more precise kind */
    ERR_USAGE = 2,      /* bad command line or arguments */
    ERR_PARTIAL = 3,    /* backup written, but some files could not be read */
    ERR_NOREPO = 10,    /* repository missing or not a repository */
    ERR_LOCKED = 11,    /* repository locked by another process */
    ERR_PASSWORD = 12,  /* wrong password or key file */
    ERR_DAMAGED = 13,   /* authentication or integrity failure in stored data */
    ERR_VERSION = 14,   /* unknown format version */
    ERR_CONFIG = 15,    /* configuration file error */
    ERR_IO = 16,        /* operating-system I/O failure */
    ERR_NOSPACE = 17,   /* disk full / quota exceeded */
    ERR_NOTFOUND = 18,  /* snapshot, key or path not found */
    ERR_RETENTION = 19, /* refused by a retention lock or legal hold */
    ERR_SOURCE = 20,    /* a source (database, server) unreachable, refusing or failing */
    ERR_INCOMPLETE = 21,/* backup stored, but not usable yet (e.g. its WAL is not archived) */
    ERR_LOCAL = 22,     /* restore finished, but some entries could not be created here
                         * (the repository's data was sound: that would be 13) */
    ERR_AUDIT = 23,     /* the command did what it said, but its audit record could not be written */
    ERR_SERVICE = 24,   /* a service did not get healthy (or down) in time: a start/stop stage failed */
    ERR_NOAGENT = 25,   /* no watch agent runs on this state folder (status and the like need one) */
} err_code;

/* Sets the thread's error record; returns code so callers can `return err_set(...)`. */
int err_set(err_code code, const char *fmt, ...) PRINTF(2, 3);
/* Like err_set, appending ": strerror(errno)"; maps ENOSPC/EDQUOT to ERR_NOSPACE. */
int err_sys(err_code code, const char *fmt, ...) PRINTF(2, 3);
/* Prefixes the current message with context ("backup of /x: " + old message). */
int err_wrap(const char *fmt, ...) PRINTF(1, 2);
void err_hint(const char *fmt, ...) PRINTF(1, 2);
const char *err_msg(void);
const char *err_hint_msg(void);
int err_last(void);
void err_clear(void);
const char *err_code_name(int code);

/* The whole record (code, message, hint), kept across work that may fail on its own
 * (writing the audit record of a failed command must not replace its error). */
typedef struct err_saved {
    int code;
    char msg[1024], hint[512];
} err_saved;
void err_save(err_saved *s);
void err_restore(const err_saved *s);

#endif
