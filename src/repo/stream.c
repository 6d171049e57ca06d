/* stream — see stream.h. Bytes are copied into a chunk buffer and scanned as they
 * come (the scan resumes where it stopped); at a cut the buffer is handed to the
 * repository's workers as it is and only the bytes past the cut move on. */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

#include "pack.h"

struct blob_stream {
    repo *r;
    const chunker *ch;
    uint8_t *cb;
    size_t len;
    chunker_state st;
    uint8_t (*content)[32];
    uint32_t ncontent, cap;
    uint64_t total;
};

int blob_stream_new(repo *r, blob_stream **out)
{
    blob_stream *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(ERR_FATAL, "out of memory");
    s->r = r;
    s->ch = repo_chunker(r);
    *out = s;
    return 0;
}

void blob_stream_free(blob_stream **s)
{
    if (!*s)
        return;
    if ((*s)->cb)
        repo_chunk_buffer_put((*s)->r, (*s)->cb);
    free((*s)->content);
    free(*s);
    *s = NULL;
}

static int add_id(blob_stream *s, const uint8_t id[32])
{
    if (s->ncontent == s->cap) {
        uint32_t nc = s->cap ? s->cap * 2 : 8;
        void *p = realloc(s->content, (size_t)nc * 32);
        if (!p)
            return err_set(ERR_FATAL, "out of memory");
        s->content = p;
        s->cap = nc;
    }
    memcpy(s->content[s->ncontent++], id, 32);
    return 0;
}

/* Saves cb[0..cut) as a blob; the rest of the buffer starts the next one. */
static int cut_at(blob_stream *s, size_t cut)
{
    uint8_t id[32], *next = NULL;
    int added;
    if (cut < s->len) {
        if (!(next = repo_chunk_buffer_get(s->r)))
            return err_set(ERR_FATAL, "out of memory");
        memcpy(next, s->cb + cut, s->len - cut);
    }
    repo_blob_id(s->r, s->cb, cut, id);
    int rc = repo_blob_save_owned(s->r, BLOB_DATA, s->cb, cut, id, &added);
    s->cb = next;
    s->len -= cut;
    s->st = (chunker_state){0, 0};
    return rc ? rc : add_id(s, id);
}

int blob_stream_space(blob_stream *s, uint8_t **p, size_t *cap)
{
    if (!s->cb && !(s->cb = repo_chunk_buffer_get(s->r)))
        return err_set(ERR_FATAL, "out of memory");
    *p = s->cb + s->len;
    *cap = s->ch->max - s->len; /* never 0: a full buffer is always cut at once */
    return 0;
}

int blob_stream_commit(blob_stream *s, size_t n)
{
    size_t cut;
    s->len += n;
    s->total += n;
    while (s->cb && (cut = chunker_scan(s->ch, s->cb, s->len, 0, &s->st)) != 0) {
        int rc = cut_at(s, cut);
        if (rc)
            return rc;
    }
    return 0;
}

void blob_stream_discard(blob_stream *s)
{
    s->len = 0;
    s->st = (chunker_state){0, 0};
    s->ncontent = 0;
    s->total = 0;
}

/* Bytes are scanned in steps of at most this much, so a cut is found soon after the
 * data crossing it arrives: only the bytes past a cut are ever moved, and a buffer
 * is touched only up to about where its chunk ends. */
#define SCAN_STEP (64 * 1024)

int blob_stream_write(blob_stream *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len) {
        uint8_t *dst;
        size_t cap;
        int rc = blob_stream_space(s, &dst, &cap);
        if (rc)
            return rc;
        size_t take = len < cap ? len : cap;
        if (take > SCAN_STEP)
            take = SCAN_STEP;
        memcpy(dst, p, take);
        p += take;
        len -= take;
        if ((rc = blob_stream_commit(s, take)))
            return rc;
    }
    return 0;
}

int blob_stream_end(blob_stream *s, tree_node *n)
{
    while (s->len) {
        int rc = cut_at(s, chunker_scan(s->ch, s->cb, s->len, 1, &s->st));
        if (rc)
            return rc;
    }
    free(n->content);
    n->content = s->content;
    n->ncontent = s->ncontent;
    n->size = s->total;
    s->content = NULL;
    s->ncontent = s->cap = 0;
    s->total = 0;
    return 0;
}
