/*
 * A scratch directory for a fuzz target that needs real files: made once
 * in LLVMFuzzerInitialize, removed at exit.  Shared by the targets so each
 * states only what it puts there.
 */
#ifndef LL_FUZZ_SCRATCH_H
#define LL_FUZZ_SCRATCH_H

/* Make /tmp/fuzz-NAME.XXXXXX and remove it (whole) at exit; aborts on error. */
const char *scratch_make(const char *name);
/* A directory (link NULL) or a symlink to link at REL below the scratch. */
void scratch_mk(const char *rel, const char *link);
/* "SCRATCH/REL" into buf (aborts when it does not fit). */
const char *scratch_path(char *buf, size_t len, const char *rel);

#endif
