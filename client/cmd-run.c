/* placeholder: subcommand being written */
#include "config.h"
#include "client.h"
int
cmd_run(int argc, char **argv)
{
	(void)argc; (void)argv;
	msg_error("run: not available yet");
	return EXIT_USAGE;
}
