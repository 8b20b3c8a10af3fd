/* placeholder: subcommand being written */
#include "config.h"
#include "client.h"
int
cmd_umount(int argc, char **argv)
{
	(void)argc; (void)argv;
	msg_error("umount: not available yet");
	return EXIT_USAGE;
}
