/* Unit tests: incidents as evidence (src/evidence/report). */
#include "testutil.h"

int main(void) { return 0; }
