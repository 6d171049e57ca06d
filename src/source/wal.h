/* wal — PostgreSQL's WAL archive in the repository: `wal-push` as archive_command
 * and `wal-fetch` as restore_command. A segment is a named object
 * wal/<source>/<file name>, durable before wal-push returns; pushing identical
 * content again succeeds, different content for an existing name is an error
 * (PostgreSQL's rules for archive commands). */
#ifndef LL_WAL_H
#define LL_WAL_H

#include "../repo/repo.h"

#define WAL_MAX_FILE (64u << 20) /* a segment is 16 MiB by default, at most 1 GiB; we take up to 64 MiB */

/* Is name a WAL file name PostgreSQL archives: a 24-hex segment, optionally
 * ".partial"; "<8 hex>.history"; or "<24 hex>.<8 hex>.backup"? */
int wal_name_valid(const char *name);
/* Is source a usable source name ([A-Za-z0-9._-], 1..64 chars)? */
int wal_source_valid(const char *source);
/* Archives the file at path. *already: it was archived before with identical content.
 * A segment (or .partial) must carry a valid long page header for the segment its
 * name says, and the system identifier of the source's archive (the first segment
 * pushed to an archive sets it); ERR_SOURCE names both systems otherwise. */
int wal_push(repo *r, const char *source, const char *path, int *already) WUR;

/* The long header on the first page of every WAL segment (PostgreSQL's
 * XLogLongPageHeaderData): what a segment says about itself. */
typedef struct wal_header {
    uint16_t magic, info;
    uint32_t tli;
    uint64_t pageaddr; /* the LSN the segment starts at */
    uint64_t sysid;    /* the cluster's system identifier */
    uint32_t seg_size, blcksz;
} wal_header;
#define WAL_HEADER_SIZE 40
/* Decodes and checks the header of a segment file of len bytes whose 24-hex name
 * (optionally + ".partial") is name: -1 with *why set when it is not a segment,
 * or not the one its name says. Reads at most WAL_HEADER_SIZE bytes of p. */
int wal_header_check(const char *name, const uint8_t *p, size_t len, wal_header *h, const char **why);

/* The system identifier an archive belongs to: the object wal/<source>/system-id,
 * sealed like the segments. ERR_NOTFOUND when nothing set it yet. */
int wal_system_load(repo *r, const char *source, uint64_t *sysid) WUR;
/* Sets the archive's system when it has none; ERR_SOURCE naming both when it holds
 * another one (what: the thing refused, for the message). */
int wal_system_claim(repo *r, const char *source, uint64_t sysid, const char *what) WUR;
/* The source whose archive belongs to sysid; ERR_NOTFOUND when none does, ERR_CONFIG
 * naming them when several do (which one a server archives into is then for the
 * configuration to say). */
int wal_system_find(repo *r, uint64_t sysid, char *source, size_t cap) WUR;
/* Writes the archived file name to dest (durably). ERR_NOTFOUND when not archived. */
int wal_fetch(repo *r, const char *source, const char *name, const char *dest) WUR;

/* LSNs ("16/B374D848") and segment names ("<tli><log><seg>", 8 hex digits each). */
int wal_lsn_parse(const char *s, uint64_t *lsn) WUR;
void wal_lsn_format(uint64_t lsn, char out[32]);
/* Is segsize a WAL segment size PostgreSQL allows (a power of two, 1 MiB..1 GiB)? */
int wal_segsize_valid(uint64_t segsize);
void wal_seg_name(uint32_t tli, uint64_t segno, uint64_t segsize, char out[25]);
/* A 24-hex segment name to timeline and segment number; ERR_USAGE otherwise. */
int wal_seg_parse(const char *name, uint64_t segsize, uint32_t *tli, uint64_t *segno) WUR;

/* One source's archive, listed: segments sorted by number then timeline. */
typedef struct wal_seg {
    uint32_t tli;
    uint64_t segno;
    int64_t mtime; /* when it was archived (with want_mtime) */
} wal_seg;

typedef struct wal_archive {
    wal_seg *segs;
    size_t n, cap;
    size_t others; /* .history, .backup and .partial files */
} wal_archive;

int wal_archive_load(repo *r, const char *source, uint64_t segsize, int want_mtime, wal_archive *a) WUR;
void wal_archive_free(wal_archive *a);
/* Is segment segno archived on timeline min_tli or a later one? (A later timeline
 * holds the segments after a promotion; earlier ones belong to another history.) */
int wal_archive_has(const wal_archive *a, uint32_t min_tli, uint64_t segno);
/* The first segment in [from, to] that is not archived, or UINT64_MAX. */
uint64_t wal_archive_first_gap(const wal_archive *a, uint32_t min_tli, uint64_t from, uint64_t to);
/* The highest archived segment number on min_tli or later; 0 when none. */
uint64_t wal_archive_last(const wal_archive *a, uint32_t min_tli);
/* What forget removes (or would remove) from one archive: files, their stored
 * bytes, and the lowest and highest segment among them. */
typedef struct wal_forget_stats {
    uint64_t files, bytes, first, last;
    char first_name[25], last_name[25]; /* their segment names (with their timelines) */
} wal_forget_stats;
/* Removes the segments (and .backup / .partial files) before segno; .history files
 * stay (they are tiny and recovery needs them to follow timelines). */
int wal_archive_forget(repo *r, const char *source, uint64_t segsize, uint64_t segno, int dry_run,
                       wal_forget_stats *st) WUR;

/* Reads, authenticates and decompresses every archived WAL file of every source;
 * fn is called with each one that fails, and with each segment whose header is not
 * the segment its name says or whose system is not its archive's (system-id, or the
 * first segment read when no system-id was set). */
typedef void (*wal_report_fn)(const char *object, const char *problem, void *ctx);
int wal_archive_verify(repo *r, wal_report_fn fn, void *ctx, uint64_t *files, uint64_t *errors) WUR;

#endif
