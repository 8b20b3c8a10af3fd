/*
 * Debian's libmount is linked with libselinux, which brings libpcre2: 260 KB
 * of xz in every deploy for the three calls libmount makes, all for
 * context= mount options.  This stand-in, libselinux.so.1 in the bundle
 * alone, answers them as libselinux does on a host without the mcstrans
 * translation daemon (a rescue system never runs one):
 *
 *   is_selinux_enabled   1 when selinuxfs is mounted at /sys/fs/selinux,
 *                        as libselinux finds it, else 0;
 *   selinux_trans_to_raw_context   the context unchanged (no translation);
 *   freecon              free.
 *
 * The agent keeps files' SELinux labels itself, through the
 * security.selinux xattr (agent/safe-file.c), and needs nothing else of
 * libselinux.  The installed lifelined links the real library.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#define LL_SELINUX_MAGIC	0xf97cff8cu	/* selinuxfs' f_type */

int is_selinux_enabled(void);
int selinux_trans_to_raw_context(const char *trans, char **rawp);
void freecon(char *con);

int
is_selinux_enabled(void)
{
	struct statfs sf;

	return statfs("/sys/fs/selinux", &sf) == 0 &&
	    (unsigned)sf.f_type == LL_SELINUX_MAGIC;
}

int
selinux_trans_to_raw_context(const char *trans, char **rawp)
{
	if (trans == NULL) {
		*rawp = NULL;
		return 0;
	}
	if ((*rawp = strdup(trans)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void
freecon(char *con)
{
	free(con);
}
