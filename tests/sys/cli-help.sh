#!/bin/sh
# The command line's help, made from the command entries (client/cmd.c):
# every command answers `lifeline help NAME` and `lifeline NAME --help`,
# every option of its table is described there, nothing is wider than a
# serial console's 80 columns, and the top-level help names every command
# and every option of every command.  No agent is needed.
. "$(dirname "$0")/lib.sh"

cmds=$("$LIFELINE" help --commands)
n=$(echo "$cmds" | wc -l)
plan $((n * 4 + 5))

top=$("$LIFELINE" --help)
is "lifeline --help exits 0" "$?" 0
wide=$(echo "$top" | awk 'length($0) > 80')
is "the top-level help fits 80 columns" "$wide" ""
missing=""
for o in $("$LIFELINE" help --options); do
	o=${o%=}
	case "$o" in --*) echo "$top" | grep -q -e "$o\b" || missing="$missing $o";; esac
done
is "the top-level help describes every global option" "$missing" ""

for c in $cmds; do
	h=$("$LIFELINE" help "$c" 2>&1)
	rc=$?
	h2=$("$LIFELINE" "$c" --help 2>&1)
	if [ "$rc" -eq 0 ] && [ "$h" = "$h2" ] && echo "$h" | grep -q "^usage: lifeline $c"; then
		ok "$c: help $c and $c --help print its usage"
	else
		not_ok "$c: help $c and $c --help print its usage"; diag "$h"
	fi
	is "$c: its help fits 80 columns" "$(echo "$h" | awk 'length($0) > 80')" ""
	missing=""
	for o in $("$LIFELINE" help --options "$c"); do
		o=${o%=}
		echo "$h" | grep -q -e "$o\b" || missing="$missing $o"
	done
	is "$c: every option of its table is described" "$missing" ""
	missing=""
	for o in $("$LIFELINE" help --options "$c" | grep -e '^--' | grep -v -e '^--help$'); do
		o=${o%=}
		echo "$top" | grep -q -e "$o\b" || missing="$missing $o"
	done
	# the command's line in the top-level help names its options too
	echo "$top" | grep -q "^  $c\b" || missing="$missing (no line)"
	is "$c: the top-level help lists it with its options" "$missing" ""
done

"$LIFELINE" help no-such-command >"$T/out" 2>&1
is "help of an unknown command exits 2" "$?" 2
grep -q 'no command "no-such-command"' "$T/out"
is "and names it" "$?" 0
