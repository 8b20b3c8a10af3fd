#!/bin/sh
# Shell completion (contrib/completion): bash's completes every command,
# every option of a command and the global ones, the --via kinds and
# --encoding's values; zsh's file parses (and, where zsh is installed,
# completes the commands).  Both ask the binary for its lists, so these
# checks compare against `lifeline help --commands/--options`.
. "$(dirname "$0")/lib.sh"
need bash
plan 9

comp() {
	# comp WORD...: the completions bash offers for the last word
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
		_lifeline; printf "%s\n" "${COMPREPLY[@]}"' sh \
		"$top_srcdir/contrib/completion/bash/lifeline" "$LIFELINE" "$@" 2>&1 | sort
}

want=$("$LIFELINE" help --commands | sort)
is "bash: lifeline <TAB> offers every command" "$(comp "")" "$want"
got=$(comp mount --)
missing=""
for o in $("$LIFELINE" help --options mount | grep -e '^--'); do
	echo "$got" | grep -qx -e "${o%=}" || missing="$missing $o"
done
is "bash: mount --<TAB> offers each of mount's options" "$missing" ""
echo "$got" | grep -qx -e --insecure
is "bash: and the global ones" "$?" 0
got=$(comp --via "")
echo "$got" | grep -qx "serial:" && echo "$got" | grep -qx "lifeline+ssh://"
is "bash: --via <TAB> offers the path kinds" "$?" 0
is "bash: --encoding <TAB>" "$(comp --encoding "")" "$(printf '7bit\n8bit\nauto')"
is "bash: help <TAB> offers the commands" "$(comp help "")" "$want"

# zsh: compadd and _files stand in for the completion system's own (which
# needs a terminal); the function's choices are what they are given.  The
# file runs _lifeline when sourced, as when zsh autoloads it.
zcomp() {
	zsh -f -c 'compadd() { while [[ $1 == -* ]]; do [[ $1 == -- ]] && { shift; break }; [[ $1 == -[PS] ]] && shift; shift; done; print -l -- "$@" }
		_files() { print FILES }
		f=$1; shift; words=("$@"); CURRENT=$#; PREFIX=${words[CURRENT]}
		source "$f"' zsh "$top_srcdir/contrib/completion/zsh/_lifeline" "$LIFELINE" "$@" 2>&1 | sort
}
if command -v zsh >/dev/null 2>&1; then
	zsh -n "$top_srcdir/contrib/completion/zsh/_lifeline"
	is "zsh: _lifeline parses" "$?" 0
	is "zsh: lifeline <TAB> offers every command" "$(zcomp "")" "$want"
	got=$(zcomp fsck --)
	echo "$got" | grep -qx -e --dry-run && echo "$got" | grep -qx -e --json
	is "zsh: fsck --<TAB> offers its options and the global ones" "$?" 0
else
	for i in 1 2 3; do ok "zsh # SKIP zsh is not installed"; done
fi
