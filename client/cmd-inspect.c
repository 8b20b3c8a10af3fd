/* placeholder: subcommand being written */
#include "config.h"
#include "client.h"
int
cmd_inspect(int argc, char **argv)
{
	(void)argc; (void)argv;
	msg_error("inspect: not available yet");
	return EXIT_USAGE;
}
