/* cmd_key — `lifeline key list|add|remove|passwd`: manage key slots. */
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/text.h"
#include "../core/quote.h"
#include "../repo/lock.h"
#include "cli.h"

int cli_kdf_option(int opt, const char *arg, crypto_kdf_params *kdf);

typedef struct slot_row {
    char name[80];
    char hex[65];
    keyslot_info info;
    int ok;
} slot_row;

typedef struct slot_list {
    repo *r;
    slot_row *rows;
    size_t n;
} slot_list;

static int collect(const char *name, uint64_t size, void *vctx)
{
    slot_list *l = vctx;
    (void)size;
    slot_row *p = realloc(l->rows, (l->n + 1) * sizeof *p);
    if (!p)
        return err_set(ERR_FATAL, "out of memory");
    l->rows = p;
    slot_row *row = &p[l->n++];
    memset(row, 0, sizeof *row);
    snprintf(row->name, sizeof row->name, "%s", name);
    snprintf(row->hex, sizeof row->hex, "%s", strrchr(name, '/') + 1);
    buf text;
    buf_init(&text, 65536);
    row->ok = store_get(repo_store(l->r), name, &text, 65536) == 0 &&
              keyslot_parse(text.data, text.len, &row->info) == 0;
    err_clear();
    buf_free(&text);
    return 0;
}

static int key_list(cli *c, repo *r)
{
    slot_list l = {.r = r};
    int rc = store_list(repo_store(r), "keys", collect, &l);
    char cur[65];
    text_hex(repo_slot_id(r), 32, cur);
    cJSON *arr = c->json ? cJSON_CreateArray() : NULL;
    if (!rc && !c->json)
        printf("   %-10s %-10s %-22s %-20s %s\n", "ID", "KIND", "CREATED", "HOST", "USER");
    for (size_t i = 0; !rc && i < l.n; i++) {
        slot_row *s = &l.rows[i];
        const char *kind = !s->ok ? "damaged" : s->info.kind == KEYSLOT_KEYFILE ? "keyfile" : "password";
        int current = !strcmp(s->hex, cur);
        if (c->json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "id", s->hex);
            cJSON_AddStringToObject(o, "kind", kind);
            cJSON_AddStringToObject(o, "created", s->info.created);
            cJSON_AddStringToObject(o, "host", s->info.host);
            cJSON_AddStringToObject(o, "user", s->info.user);
            cJSON_AddBoolToObject(o, "current", current);
            cJSON_AddItemToArray(arr, o);
        } else {
            char host[256], user[256]; /* from the slot file: never raw */
            printf("%s  %-10.8s %-10s %-22s %-20s %s\n", current ? "*" : " ", s->hex, kind, s->info.created,
                   quote_buf(s->info.host, QUOTE_MESSAGE, host, sizeof host),
                   quote_buf(s->info.user, QUOTE_MESSAGE, user, sizeof user));
        }
    }
    const uint8_t(*listed)[32];
    size_t nlisted, missing = 0;
    repo_slot_list(r, &listed, &nlisted);
    for (size_t i = 0; !rc && i < nlisted; i++) { /* in the config's list, but the file is gone */
        char hex[65];
        int found = 0;
        text_hex(listed[i], 32, hex);
        for (size_t k = 0; k < l.n && !found; k++)
            found = !strcmp(l.rows[k].hex, hex);
        if (found)
            continue;
        missing++;
        if (c->json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "id", hex);
            cJSON_AddStringToObject(o, "kind", "missing");
            cJSON_AddItemToArray(arr, o);
        } else {
            printf("   %-10.8s %-10s (listed in the config, but keys/%s is gone)\n", hex, "missing", hex);
        }
    }
    if (arr)
        cli_json_print(arr);
    free(l.rows);
    if (!rc && missing)
        LOG_WARN("%zu key slot(s) the config lists are missing: put them back from a copy of the repository", missing);
    return rc;
}

static int find_slot(repo *r, const char *prefix, uint8_t id[32], size_t *count)
{
    slot_list l = {.r = r};
    int rc = store_list(repo_store(r), "keys", collect, &l);
    int matches = 0;
    *count = l.n;
    for (size_t i = 0; !rc && i < l.n; i++)
        if (!strncmp(l.rows[i].hex, prefix, strlen(prefix))) {
            matches++;
            if (text_unhex(l.rows[i].hex, id, 32) != 0)
                matches = 99;
        }
    free(l.rows);
    if (rc)
        return rc;
    if (!matches)
        return err_set(ERR_NOTFOUND, "no key slot with id %s", prefix);
    if (matches > 1)
        return err_set(ERR_USAGE, "key slot id prefix %s is ambiguous", prefix);
    return 0;
}

static int add_slot(cli *c, repo *r, const char *new_pw_file, const char *new_key_file, const crypto_kdf_params *kdf,
                    uint8_t slot[32])
{
    char *secret = NULL;
    size_t len = 0;
    keyslot_kind kind = new_key_file ? KEYSLOT_KEYFILE : KEYSLOT_PASSPHRASE;
    int rc = new_key_file ? cli_key_file(new_key_file, 1, &secret, &len)
                          : cli_new_password(c, new_pw_file, &secret, &len);
    if (!rc)
        rc = repo_key_add(r, secret, len, kind, kdf, slot);
    cli_secret_free(&secret, len);
    return rc;
}

static int key_change(cli *c, repo *r, const char *sub, const char *id, const char *pwfile, const char *keyfile,
                      const crypto_kdf_params *kdf)
{
    uint8_t slot[32];
    char hex[65];
    int rc;
    if (!strcmp(sub, "add") || !strcmp(sub, "passwd")) {
        if ((rc = add_slot(c, r, pwfile, !strcmp(sub, "add") ? keyfile : NULL, kdf, slot)))
            return rc;
        text_hex(slot, 32, hex);
        cli_audit_id(c, hex);
        if (!strcmp(sub, "passwd")) {
            /* the new slot is durable before the old one goes */
            if ((rc = repo_key_remove(r, repo_slot_id(r))))
                return rc;
            LOG_INFO("password changed: new key slot %.8s replaces the old one", hex);
        } else {
            LOG_INFO("added key slot %.8s", hex);
        }
        if (c->json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "id", hex);
            cli_json_print(o);
        }
        return 0;
    }
    size_t count;
    if ((rc = find_slot(r, id, slot, &count)))
        return rc;
    text_hex(slot, 32, hex);
    cli_audit_id(c, hex);
    if (!memcmp(slot, repo_slot_id(r), 32))
        return err_set(ERR_USAGE, "key slot %.8s is the one in use; unlock with another to remove it", hex);
    if (count < 2)
        return err_set(ERR_USAGE, "key slot %.8s is the last one; the repository would be unopenable", hex);
    if ((rc = repo_key_remove(r, slot)))
        return rc;
    LOG_INFO("removed key slot %.8s", hex);
    return 0;
}

int cmd_key(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"new-password-file", required_argument, NULL, 'p'},
                                         {"new-key-file", required_argument, NULL, 'k'},
                                         {"kdf-memory", required_argument, NULL, 'm'},
                                         {"kdf-time", required_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    const char *pwfile = NULL, *keyfile = NULL;
    repo_options ro;
    repo_options_default(&ro);
    int opt, rc;
    while ((opt = cli_getopt(c, argc, argv, "", opts, cli_find("key"))) != -1) {
        if (opt == -2)
            return 0;
        if (opt == 'p')
            pwfile = optarg;
        else if (opt == 'k')
            keyfile = optarg;
        else if (opt == '?' || (rc = cli_kdf_option(opt, optarg, &ro.kdf)))
            return ERR_USAGE;
    }
    if (optind >= argc)
        return err_set(ERR_USAGE, "key needs a subcommand: list, add, remove ID or passwd");
    const char *sub = argv[optind];
    repo *r;
    if (strcmp(sub, "list") && strcmp(sub, "add") && strcmp(sub, "remove") && strcmp(sub, "passwd"))
        return err_set(ERR_USAGE, "unknown key subcommand '%s' (list, add, remove, passwd)", sub);
    if (!strcmp(sub, "remove") && optind + 2 != argc)
        return err_set(ERR_USAGE, "key remove takes one slot id");
    if (strcmp(sub, "remove") && optind + 1 != argc)
        return err_set(ERR_USAGE, "key %s takes no arguments", sub);
    /* `key add --key-file F` (the form): F is the new slot's key file and the
     * repository is unlocked with the password; --new-key-file keeps --key-file for
     * unlocking. */
    if (!strcmp(sub, "add") && c->key_file && !keyfile && !pwfile) {
        keyfile = c->key_file;
        c->key_file = NULL;
    }
    if (!strcmp(sub, "list"))
        return (rc = cli_open_repo(c, &r)) ? rc : key_list(c, r);
    /* a key change rewrites the config's slot list: one writer at a time */
    repo_lock *lk = NULL;
    if ((rc = cli_open_locked(c, 1, 0, &r, &lk)) == 0)
        rc = key_change(c, r, sub, argv[optind + 1], pwfile, keyfile, &ro.kdf);
    lock_release(&lk);
    return rc;
}
