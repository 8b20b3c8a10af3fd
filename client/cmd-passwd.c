/* placeholder: subcommand being written */
#include "config.h"
#include "client.h"
int
cmd_passwd(int argc, char **argv)
{
	(void)argc; (void)argv;
	msg_error("passwd: not available yet");
	return EXIT_USAGE;
}
