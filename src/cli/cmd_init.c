/* cmd_init — `lifeline init`: creates a repository with its first key slot. */
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/text.h"
#include "cli.h"

int cli_kdf_option(int opt, const char *arg, crypto_kdf_params *kdf);
int cli_kdf_option(int opt, const char *arg, crypto_kdf_params *kdf)
{
    uint64_t n;
    if (opt == 'm') {
        if (text_parse_u64(arg, 4096, &n) != 0 || n < 1)
            return err_set(ERR_USAGE, "--kdf-memory: give MiB from 1 to 4096");
        kdf->m_kib = (uint32_t)n * 1024;
    } else {
        if (text_parse_u64(arg, 100, &n) != 0 || n < 1)
            return err_set(ERR_USAGE, "--kdf-time: give a pass count from 1 to 100");
        kdf->t_cost = (uint32_t)n;
    }
    return 0;
}

int cmd_init(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"kdf-memory", required_argument, NULL, 'm'},
                                         {"kdf-time", required_argument, NULL, 't'},
                                         {"compression-level", required_argument, NULL, 'z'},
                                         {NULL, 0, NULL, 0}};
    repo_options ro;
    repo_options_default(&ro);
    int opt, rc;
    while ((opt = cli_getopt(c, argc, argv, "", opts, cli_find("init"))) != -1) {
        uint64_t level;
        if (opt == -2)
            return 0;
        if (opt == 'z') {
            if (text_parse_u64(optarg, 19, &level) != 0 || level < 1)
                return err_set(ERR_USAGE, "--compression-level: give a zstd level from 1 to 19");
            ro.zstd_level = (int)level;
        } else if (opt == '?' || (rc = cli_kdf_option(opt, optarg, &ro.kdf))) {
            return ERR_USAGE;
        }
    }
    if (optind != argc)
        return err_set(ERR_USAGE, "init takes no arguments (the repository is given with -r)");
    const char *path;
    char *secret = NULL;
    size_t len = 0;
    keyslot_kind kind = KEYSLOT_PASSPHRASE;
    const char *kf = c->key_file ? c->key_file : getenv("LIFELINE_KEY_FILE");
    if ((rc = cli_repo_path(c, &path)))
        return rc;
    if (kf && *kf) {
        kind = KEYSLOT_KEYFILE;
        rc = cli_key_file(kf, 1, &secret, &len);
    } else if (c->password_file || getenv("LIFELINE_PASSWORD_FILE") || getenv("LIFELINE_PASSWORD") ||
               (c->cfg && c->cfg->password_file)) {
        rc = cli_secret(c, &secret, &len, &kind);
    } else {
        rc = cli_new_password(c, NULL, &secret, &len);
    }
    repo *r = NULL;
    if (!rc)
        rc = repo_init(path, secret, len, kind, &ro, &r);
    cli_secret_free(&secret, len);
    if (rc)
        return rc;
    c->r = r;
    c->audit = 1;
    char hex[65];
    text_hex(repo_id(r), 32, hex);
    cli_audit_id(c, hex);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "repository", repo_location(r));
        cJSON_AddStringToObject(o, "id", hex);
        cli_json_print(o);
    } else {
        LOG_INFO("created lifeline repository %.10s at %s", hex, repo_location(r));
        LOG_INFO("keep the password (or key file) safe: without it the data cannot be recovered");
    }
    return 0;
}
