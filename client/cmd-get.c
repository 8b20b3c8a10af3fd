/* placeholder: subcommand being written */
#include "config.h"
#include "client.h"
int
cmd_get(int argc, char **argv)
{
	(void)argc; (void)argv;
	msg_error("get: not available yet");
	return EXIT_USAGE;
}
