/* placeholder: subcommand being written */
#include "config.h"
#include "client.h"
int
cmd_reboot(int argc, char **argv)
{
	(void)argc; (void)argv;
	msg_error("reboot: not available yet");
	return EXIT_USAGE;
}
