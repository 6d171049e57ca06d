/* libFuzzer target: tree decoder (both versions: version 2 adds node flags and
 * extended attributes) — must never crash, leak or read out of bounds on any input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repo/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tree t;
    if (tree_decode(data, size, &t) == 0) {
        buf b;
        buf_init(&b, 0);
        if (tree_encode(&t, &b) != 0 || b.len != size || memcmp(b.data, data, size) != 0)
            abort(); /* a tree that decodes must encode back to the same bytes */
        buf_free(&b);
        for (size_t i = 0; i < t.n; i++) { /* restore copies nodes, attributes included */
            tree_node copy;
            if (tree_node_copy(&t.nodes[i], &copy) != 0 || copy.nxattr != t.nodes[i].nxattr ||
                (copy.nxattr && memcmp(copy.xattrs[copy.nxattr - 1].value, t.nodes[i].xattrs[copy.nxattr - 1].value,
                                       copy.xattrs[copy.nxattr - 1].len) != 0))
                abort();
            tree_node_free(&copy);
        }
        tree_free(&t);
    }
    return 0;
}
