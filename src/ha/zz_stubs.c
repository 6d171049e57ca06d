/* TEMP stubs until coord/pgctl land */
#include "../coord/coord.h"
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
struct coord { int x; };
int coord_open(const config *cfg, state *st, const char *node, coord **out){(void)cfg;(void)st;(void)node;*out=calloc(1,sizeof **out);return 0;}
void coord_close(coord **c){free(*c);*c=NULL;}
const char *coord_backend_name(const coord *c){(void)c;return "local";}
int coord_acquire(coord *c, const char *g, const char *m, int64_t t, int64_t d, int *won, int64_t *e, coord_leader *now){(void)c;(void)g;(void)m;(void)t;(void)d;*won=0;*e=0;(void)now;return 0;}
int coord_renew(coord *c, const char *g, int64_t d){(void)c;(void)g;(void)d;return 0;}
int coord_release(coord *c, const char *g, int64_t d){(void)c;(void)g;(void)d;return 0;}
int coord_seize(coord *c, const char *g, const char *m, int64_t t, int64_t d, int64_t *e){(void)c;(void)g;(void)m;(void)t;(void)d;*e=0;return 0;}
int coord_leader_get(coord *c, const char *g, int64_t d, coord_leader *out){(void)c;(void)g;(void)d;memset(out,0,sizeof *out);return 0;}
int coord_status_put(coord *c, const char *g, const char *m, const char *j, int64_t t, int64_t d){(void)c;(void)g;(void)m;(void)j;(void)t;(void)d;return 0;}
int coord_status_list(coord *c, const char *g, int64_t d, coord_status **out, size_t *n){(void)c;(void)g;(void)d;*out=NULL;*n=0;return 0;}
void coord_status_free(coord_status **l, size_t n){(void)n;free(*l);*l=NULL;}
