/* placeholder: subcommand being written */
#include "config.h"
#include "client.h"
int
cmd_fsck(int argc, char **argv)
{
	(void)argc; (void)argv;
	msg_error("fsck: not available yet");
	return EXIT_USAGE;
}
