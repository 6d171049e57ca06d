/* cli — see cli.h. */
#define _GNU_SOURCE
#include "../repo/snapshot.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <termios.h>
#include <unistd.h>

#include "../audit/audit.h"
#include "../config/source_config.h"
#include "../core/fsutil.h"
#include "../core/log.h"
#include "../core/text.h"
#include "../crypto/crypto.h"
#include "../repo/lock.h"
#include "jsonout.h"

enum { OPT_REPO = 1000, OPT_CONFIG, OPT_PASSWORD_FILE, OPT_KEY_FILE, OPT_JSON, OPT_QUIET, OPT_VERBOSE,
       OPT_LOCK_WAIT, OPT_NO_LOCK, OPT_HELP };

static const struct option global_opts[] = {
    {"repo", required_argument, NULL, OPT_REPO},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
    {"key-file", required_argument, NULL, OPT_KEY_FILE},
    {"json", no_argument, NULL, OPT_JSON},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"lock-wait", required_argument, NULL, OPT_LOCK_WAIT},
    {"no-lock", no_argument, NULL, OPT_NO_LOCK},
    {"help", no_argument, NULL, OPT_HELP},
};
#define NGLOBAL (sizeof global_opts / sizeof *global_opts)

int cli_is_tty(void) { return isatty(STDERR_FILENO); }

#define NOT_GLOBAL (-1)

/* 0 handled, NOT_GLOBAL for a command's own option, else an err_code. */
static int global_opt(cli *c, int opt, const char *arg)
{
    uint64_t n;
    switch (opt) {
    case 'r': case OPT_REPO: c->repo_path = arg; return 0;
    case 'c': case OPT_CONFIG: c->config_path = arg; return 0;
    case OPT_PASSWORD_FILE: c->password_file = arg; return 0;
    case OPT_KEY_FILE: c->key_file = arg; return 0;
    case OPT_JSON: c->json = 1; return 0;
    case OPT_NO_LOCK: c->no_lock = 1; return 0;
    case 'q': case OPT_QUIET: log_level = LOG_QUIET; return 0;
    case 'v': case OPT_VERBOSE: log_level = log_level < LOG_VERBOSE ? LOG_VERBOSE : LOG_DEBUG; return 0;
    case OPT_LOCK_WAIT:
        if (text_parse_u64(arg, 86400 * 7, &n) != 0)
            return err_wrap("--lock-wait");
        c->lock_wait = (int)n;
        return 0;
    default: return NOT_GLOBAL;
    }
}

int cli_getopt(cli *c, int argc, char **argv, const char *shorts, const struct option *longs, const cli_command *cmd)
{
    static struct option merged[80];
    static char allshorts[128];
    size_t n = 0;
    for (const struct option *o = longs; o && o->name && n < 60; o++)
        merged[n++] = *o;
    for (size_t i = 0; i < NGLOBAL; i++)
        merged[n++] = global_opts[i];
    memset(&merged[n], 0, sizeof merged[n]);
    snprintf(allshorts, sizeof allshorts, "%sr:c:qvh", shorts ? shorts : "");
    for (;;) {
        int opt = getopt_long(argc, argv, allshorts, merged, NULL);
        if (opt == -1)
            return -1;
        if (opt == '?' || opt == ':') {
            err_set(ERR_USAGE, "bad option for '%s' (see lifeline %s --help)", cmd->name, cmd->name);
            return '?';
        }
        if (opt == 'h' || opt == OPT_HELP) {
            fputs(cmd->help, stdout);
            return -2;
        }
        int g = global_opt(c, opt, optarg);
        if (g == 0)
            continue;
        if (g != NOT_GLOBAL)
            return '?';
        return opt;
    }
}

int cli_repo_path(cli *c, const char **out)
{
    const char *p = c->repo_path ? c->repo_path : getenv("LIFELINE_REPOSITORY");
    if ((!p || !*p) && c->cfg)
        p = c->cfg->repo_path;
    if (!p || !*p) {
        err_set(ERR_USAGE, "no repository given");
        err_hint("use -r PATH, set LIFELINE_REPOSITORY, or name it in the configuration file ([repository] path)");
        return ERR_USAGE;
    }
    *out = p;
    return 0;
}

void cli_secret_free(char **secret, size_t len)
{
    if (*secret) {
        crypto_wipe(*secret, len);
        free(*secret);
    }
    *secret = NULL;
}

int cli_read_secret_file(const char *path, const char *what, char **secret, size_t *len)
{
    buf b;
    buf_init(&b, 1 << 16);
    int rc = fs_read_file(path, &b, 1 << 16);
    if (rc) {
        char why[512]; /* copied: err_set writes the record err_msg() points into */
        snprintf(why, sizeof why, "%s", err_msg());
        buf_free(&b);
        return err_set(rc == ERR_NOTFOUND ? ERR_USAGE : rc, "%s %s: %s", what, path, why);
    }
    while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
        b.len--;
    if (!b.len) {
        buf_free(&b);
        return err_set(ERR_USAGE, "%s %s is empty", what, path);
    }
    b.data[b.len] = '\0';
    *secret = (char *)b.data;
    *len = b.len;
    return 0;
}

int cli_key_file(const char *path, int create, char **secret, size_t *len)
{
    struct stat st;
    if (create && stat(path, &st) != 0 && errno == ENOENT) {
        uint8_t raw[32];
        char hex[66];
        int rc = crypto_random(raw, sizeof raw);
        if (rc)
            return rc;
        text_hex(raw, 32, hex);
        crypto_wipe(raw, sizeof raw);
        hex[64] = '\n';
        hex[65] = '\0';
        rc = fs_write_durable(path, hex, 65, 0600, 1);
        crypto_wipe(hex, sizeof hex);
        if (rc)
            return rc;
        LOG_INFO("created key file %s (mode 0600): keep a copy somewhere safe", path);
    } else if (stat(path, &st) == 0 && (st.st_mode & 077)) {
        LOG_WARN("key file %s is readable by group or others (mode %03o); it should be 0600", path,
                 st.st_mode & 0777);
    }
    return cli_read_secret_file(path, "key file", secret, len);
}

static int prompt(const char *question, char *out, size_t cap)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct termios old, quiet;
    if (tcgetattr(fd, &old) != 0) {
        close(fd);
        return -1;
    }
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    if (write(fd, question, strlen(question)) < 0 || tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
        close(fd);
        return -1;
    }
    size_t n = 0;
    char ch;
    while (n + 1 < cap && read(fd, &ch, 1) == 1 && ch != '\n')
        out[n++] = ch;
    out[n] = '\0';
    tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0)
        n = 0;
    close(fd);
    return (int)n;
}

static int dup_secret(const char *s, char **secret, size_t *len)
{
    *len = strlen(s);
    if (!*len)
        return err_set(ERR_USAGE, "empty password");
    if (!(*secret = strdup(s)))
        return err_set(ERR_FATAL, "out of memory");
    return 0;
}

int cli_secret(cli *c, char **secret, size_t *len, keyslot_kind *kind)
{
    const char *kf = c->key_file ? c->key_file : getenv("LIFELINE_KEY_FILE");
    const char *pf = c->password_file ? c->password_file : getenv("LIFELINE_PASSWORD_FILE");
    const char *pw = getenv("LIFELINE_PASSWORD");
    *kind = KEYSLOT_PASSPHRASE;
    if ((!kf || !*kf) && (!pf || !*pf) && !pw && c->cfg) {
        /* PostgreSQL runs wal-push / wal-fetch per segment: never a passphrase KDF there */
        int prefer_key = c->command && !strncmp(c->command, "wal-", 4) && c->cfg->key_file;
        pf = prefer_key ? NULL : c->cfg->password_file;
        kf = pf ? NULL : c->cfg->key_file;
    }
    if (kf && *kf) {
        *kind = KEYSLOT_KEYFILE;
        return cli_key_file(kf, 0, secret, len);
    }
    if (pf && *pf)
        return cli_read_secret_file(pf, "password file", secret, len);
    if (pw)
        return dup_secret(pw, secret, len);
    char buf_[1024];
    int n = prompt("enter password for repository: ", buf_, sizeof buf_);
    if (n < 0) {
        /* nothing was tried, so nothing was wrong: the command line lacks a secret */
        err_set(ERR_USAGE, "no password given and no terminal to ask on");
        err_hint("use --password-file FILE, LIFELINE_PASSWORD_FILE, LIFELINE_PASSWORD or --key-file FILE");
        return ERR_USAGE;
    }
    int rc = dup_secret(buf_, secret, len);
    crypto_wipe(buf_, sizeof buf_);
    return rc;
}

int cli_new_password(cli *c, const char *file, char **secret, size_t *len)
{
    (void)c;
    const char *env = getenv("LIFELINE_NEW_PASSWORD");
    if (file)
        return cli_read_secret_file(file, "new password file", secret, len);
    if (env)
        return dup_secret(env, secret, len);
    char a[1024], b[1024];
    if (prompt("enter new password: ", a, sizeof a) < 0) {
        err_set(ERR_USAGE, "no new password given and no terminal to ask on");
        err_hint("use --new-password-file FILE or LIFELINE_NEW_PASSWORD");
        return ERR_USAGE;
    }
    int rc = prompt("enter it again: ", b, sizeof b) < 0 || strcmp(a, b)
                 ? err_set(ERR_USAGE, "the two passwords differ")
                 : dup_secret(a, secret, len);
    crypto_wipe(a, sizeof a);
    crypto_wipe(b, sizeof b);
    return rc;
}

int cli_open_repo(cli *c, repo **out)
{
    const char *path;
    char *secret = NULL;
    size_t len = 0;
    keyslot_kind kind;
    repo *r = NULL;
    int rc = cli_repo_path(c, &path);
    if (!rc)
        rc = repo_open(path, &r);
    if (!rc)
        rc = cli_secret(c, &secret, &len, &kind);
    if (!rc)
        rc = repo_unlock(r, secret, len, kind);
    cli_secret_free(&secret, len);
    if (rc) {
        repo_close(&r);
        return rc;
    }
    c->r = r;
    *out = r;
    return 0;
}

int cli_lock_reader(cli *c, repo *r, repo_lock **lk)
{
    *lk = NULL;
    return c->no_lock ? 0 : lock_acquire_reader(r, c->lock_wait, lk);
}

int cli_open_locked(cli *c, int mode, int load_index, repo **out, repo_lock **lk)
{
    if (c->no_lock && mode != CLI_LOCK_READ)
        return err_set(ERR_USAGE, "--no-lock is only for commands that read (restore, check...), not '%s'",
                       c->command);
    int rc = cli_open_repo(c, out);
    if (rc)
        return rc;
    c->audit = 1;
    c->reader = mode == CLI_LOCK_READ;
    rc = mode == CLI_LOCK_READ ? cli_lock_reader(c, *out, lk) : lock_acquire(*out, mode, c->lock_wait, lk);
    if (!rc && load_index)
        rc = repo_index_load(*out);
    return rc;
}

void cli_audit_id(cli *c, const char *id)
{
    char **p = realloc(c->audit_ids, (c->naudit_ids + 1) * sizeof *p);
    if (!p)
        return;
    c->audit_ids = p;
    if ((p[c->naudit_ids] = strdup(id)))
        c->naudit_ids++;
}

const char *cli_repo_unwritable(cli *c)
{
    struct statvfs v;
    if (!c->r || statvfs(repo_location(c->r), &v) != 0)
        return NULL;
    if (v.f_flag & ST_RDONLY)
        return "the repository's file system is read-only";
    if ((uint64_t)v.f_bavail * v.f_frsize < 65536)
        return "the repository's disk is full";
    return access(repo_location(c->r), W_OK) != 0 ? "the repository cannot be written by this user" : NULL;
}

int cli_audit_unmirrored(cli *c, const audit_event *e, const char *why, char *path, size_t cap)
{
    int rc = audit_local_path(c->r, path, cap);
    if (rc)
        return rc;
    size_t n = strlen(path);
    if (snprintf(path + n, cap - n, ".unmirrored") >= (int)(cap - n))
        return err_set(ERR_FATAL, "state path too long: %s", path);
    /* the fields of a chained record, without seq, prev and MAC */
    cJSON *o = cJSON_CreateObject();
    audit_event_fields(o, e);
    cJSON_AddBoolToObject(o, "mirrored", 0);
    cJSON_AddStringToObject(o, "not_mirrored_because", why);
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!line)
        return err_set(ERR_FATAL, "out of memory");
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        rc = err_sys(ERR_IO, "open %s", path);
    else if (fs_write_all(fd, line, strlen(line)) != 0 || fs_write_all(fd, "\n", 1) != 0 || fsync(fd) != 0)
        rc = err_sys(ERR_IO, "append to %s", path);
    if (fd >= 0)
        close(fd);
    cJSON_free(line);
    return rc;
}

void cli_json_print(cJSON *o)
{
    /* names are bytes, JSON is UTF-8: every string that is not goes out readable
     * plus its exact bytes in KEY_raw (jsonout.h), so the output always parses */
    char *s = jsonout_make_safe(o) == 0 ? cJSON_PrintUnformatted(o) : NULL;
    if (s) {
        puts(s);
        cJSON_free(s);
    } else {
        fputs("lifeline: error: out of memory while writing the JSON output\n", stderr);
    }
    cJSON_Delete(o);
}

int cli_source_type(cli *c, const char *name, const char **type)
{
    return source_config_type(c->cfg, name, type);
}

int cli_snapshot_index(repo *r, const char *spec, snapshot *list, size_t n, size_t *at)
{
    *at = SIZE_MAX;
    if (!spec)
        return 0;
    snapshot s;
    snapshot_init(&s);
    int rc = snapshot_resolve(r, spec, &s);
    for (size_t i = 0; !rc && i < n; i++)
        if (!memcmp(list[i].id, s.id, 32))
            *at = i;
    snapshot_free(&s);
    return rc;
}

int cli_newest_of_source(repo *r, snapshot *list, size_t n, const char *kind, const char *source, const char *spec,
                         size_t *chosen)
{
    size_t force;
    int rc = cli_snapshot_index(r, spec, list, n, &force);
    if (rc)
        return rc;
    for (size_t i = n; i-- > 0;)
        if ((force == SIZE_MAX || i == force) && !strcmp(list[i].source, kind) && list[i].npaths == 1 &&
            !strcmp(list[i].paths[0], source)) {
            *chosen = i;
            /* the newest of the source: not an older one because the newest is unreadable */
            return force == SIZE_MAX ? snapshot_newest_guard(r, list, n, &list[i]) : 0;
        }
    if (force == SIZE_MAX && (rc = snapshot_newest_guard(r, list, n, NULL)))
        return rc;
    return err_set(ERR_NOTFOUND, "no %s snapshot of source %s in the repository%s", kind, source,
                   spec ? " with that id" : "");
}
