/* config — the INI configuration file, read by both front ends (the command line and,
 * later, the watch agent): [repository], [retention "NAME"] classes and
 * [source "NAME"] sections (kept as key/value lists for the sources that use them),
 * and the watch agent's [watch], [objectives], [service "NAME"], [notify "NAME"].
 * Unknown sections and keys are errors naming file and line: a typo must not
 * silently weaken a retention class. */
#ifndef LL_CONFIG_H
#define LL_CONFIG_H

#include <stdint.h>

#include "../core/err.h"
#include "../repo/retention.h"
#include "ha_config.h"
#include "watch_config.h"

typedef struct config_class {
    char name[64];
    retention_policy policy;
    int64_t lock; /* seconds; 0 = none */
} config_class;

typedef struct config_kv {
    char *key, *value;
} config_kv;

typedef struct config_source {
    char name[64];
    config_kv *kv;
    size_t nkv;
} config_source;

typedef struct config {
    char *file;
    char *repo_path, *password_file, *key_file;
    config_class *classes;
    size_t nclasses;
    config_source *sources;
    size_t nsources;
    config_watch watch; /* the watch agent's sections: watch_config.h */
    config_objectives objectives;
    config_service *services;
    size_t nservices;
    config_notify *notifies;
    size_t nnotifies;
    config_coord coord; /* high availability: ha_config.h */
    config_pg_group *pg_groups;
    size_t npg_groups;
    config_member *members;
    size_t nmembers;
} config;

/* Loads file; ERR_CONFIG with "file:line: ..." on any error. */
int config_load(const char *file, config **out) WUR;
/* Parses INI text (for tests and the fuzzer); name is used in messages. */
int config_parse_string(const char *text, const char *name, config **out) WUR;
void config_free(config **c);
const config_class *config_class_find(const config *c, const char *name);
const config_source *config_source_find(const config *c, const char *name);
const char *config_source_get(const config_source *s, const char *key);

#endif
