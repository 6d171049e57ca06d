/* report — incidents as evidence: an incident and the metrics in the JSON shapes
 * the status document, the HTTP API and `lifeline incidents --json` share, and an
 * incident as a Markdown post-incident review (summary, timeline, detection gaps,
 * 5 whys, People / Process / Technology, action items). Pure functions of what
 * state read; nothing here touches the database. */
#ifndef LL_REPORT_H
#define LL_REPORT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"
#include "../state/state.h"

/* When the failure was confirmed: the first "detection" entry, else opened_ms
 * (what MTTR counts from: see state_metrics). */
int64_t report_detected_ms(const state_incident *in);
/* Time to recovery in ms: closed - report_detected_ms; -1 while open. */
int64_t report_ttr_ms(const state_incident *in);

/* "2026-11-26T06:30:09.123Z" (UTC, milliseconds). */
void report_time(int64_t ms, char *out, size_t cap);
/* A duration for people: "850ms", "42.5s", "3m05s", "2h03m05s", "1d02h03m". */
void report_duration(int64_t ms, char *out, size_t cap);

/* INCIDENT: {"id","target","title","status","opened_ms","detected_ms" (null: never
 * confirmed),"closed_ms" (null while open),"false_positive","ttr_seconds" (null while
 * open),"actions" (recovery attempts),"notifications":[{"at_ms","message"}],
 * "timeline":[{"at_ms","kind","message","status"}]}; the last three only when the
 * timeline was read (in->entries). NULL when out of memory. */
cJSON *report_incident_json(const state_incident *in);

/* The post-incident review of in, as seen from node (NULL: not named), appended to
 * out. Text from the database is escaped: a '|' or a newline in a message stays
 * inside its table cell, and nothing in it becomes markup. ERR_FATAL when out of
 * memory (or past out's maximum). */
int report_incident_markdown(const state_incident *in, const char *node, buf *out) WUR;

/* The status document's "metrics" object: counts, and null for a rate or MTTR that
 * has nothing to be computed from. NULL when out of memory. */
cJSON *report_metrics_json(const state_metrics *m);

#endif
