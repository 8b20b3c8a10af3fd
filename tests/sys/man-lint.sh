#!/bin/sh
# The man pages render cleanly: mandoc -Tlint (style level and up) and
# groff -ww find nothing in lifeline.1 and lifelined.8, no macro line runs
# a sentence into the next one (".BR exec .  Ctrl-C ..." prints as one
# word soup), and lifeline.1 documents every command the client has.
. "$(dirname "$0")/lib.sh"
need mandoc groff
plan 5

pages="$top_srcdir/docs/lifeline.1 $top_srcdir/docs/lifelined.8"
# shellcheck disable=SC2086
out=$(mandoc -Tlint -Wstyle $pages 2>&1)
is "mandoc -Tlint -Wstyle finds nothing" "$out" ""
# shellcheck disable=SC2086
out=$(groff -ww -z -man $pages 2>&1)
is "groff -ww finds nothing" "$out" ""
# shellcheck disable=SC2086
out=$(grep -nE '^\.(B|I|BR|RB|BI|IB|IR|RI) .*[.!?]  +[A-Z]' $pages)
is "no sentence starts on a font macro's line" "$out" ""
missing=""
for c in $("$LIFELINE" help --commands); do
	grep -qE "^\.B[I]? \\\\?\"?$(echo "$c" | sed 's/-/\\\\-/g')( |$)" "$top_srcdir/docs/lifeline.1" ||
		missing="$missing $c"
done
is "lifeline.1 has an entry for every command" "$missing" ""
missing=""
for o in $("$LIFELINE" help --options); do
	o=$(echo "${o%=}" | sed 's/-/\\\\-/g')
	grep -qE -e "^\.B[IR]? .*$o" "$top_srcdir/docs/lifeline.1" || missing="$missing $o"
done
is "lifeline.1 describes every global option" "$missing" ""
