/* stream — chunks a byte stream that arrives in pieces of any size (a file read
 * from disk, a tar stream from the network, pg_dump's output, an RDB transfer) into
 * data blobs, and hands back the content list of each file. Memory stays at a few
 * chunk buffers whatever the size of the stream. */
#ifndef LL_STREAM_H
#define LL_STREAM_H

#include "repo.h"
#include "tree.h"

typedef struct blob_stream blob_stream;

int blob_stream_new(repo *r, blob_stream **out) WUR;
void blob_stream_free(blob_stream **s);
int blob_stream_write(blob_stream *s, const void *data, size_t len) WUR;
/* The zero-copy form, for sources that fill memory themselves (read(2)): room for
 * up to *cap bytes at *p, then commit how many were put there. */
int blob_stream_space(blob_stream *s, uint8_t **p, size_t *cap) WUR;
int blob_stream_commit(blob_stream *s, size_t n) WUR;
/* Drops the current file (its bytes not yet cut and its content list); blobs
 * already handed on stay unreferenced until prune. */
void blob_stream_discard(blob_stream *s);
/* Ends the current file: saves the last chunk and moves the content list and size
 * into n (replacing what n had). The stream is ready for the next file. */
int blob_stream_end(blob_stream *s, tree_node *n) WUR;

#endif
