/* placeholder: subcommand being written */
#include "config.h"
#include "client.h"
int
cmd_disks(int argc, char **argv)
{
	(void)argc; (void)argv;
	msg_error("disks: not available yet");
	return EXIT_USAGE;
}
