/* placeholder: subcommand being written */
#include "config.h"
#include "client.h"
int
cmd_mount(int argc, char **argv)
{
	(void)argc; (void)argv;
	msg_error("mount: not available yet");
	return EXIT_USAGE;
}
