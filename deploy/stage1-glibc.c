/*
 * What Debian's static libcrypto, built against glibc, asks of its C
 * library beyond what musl has, for the first stage (built with musl).
 * On aarch64 libcrypto probes the CPU's instructions by catching SIGILL
 * and leaving the probe with siglongjmp(), which glibc's _FORTIFY_SOURCE
 * turned into __longjmp_chk (siglongjmp with a check that the target frame
 * is still on the stack; the probe's is, by construction).
 */
#include <setjmp.h>

_Noreturn void __longjmp_chk(sigjmp_buf env, int val);

_Noreturn void
__longjmp_chk(sigjmp_buf env, int val)
{
	siglongjmp(env, val);
}
