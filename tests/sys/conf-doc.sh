#!/bin/sh
# The configuration file's documentation cannot drift from the code: every
# setting agent/conf.c accepts has a row in lifelined.conf(5)'s table (with
# the command-line option lifelined really has), an entry below it, and a
# commented line in the installed default file etc/lifelined.conf; the
# table names no setting the code lacks; and the installed file, as shipped
# and with every line uncommented, is accepted by the real agent.
. "$(dirname "$0")/lib.sh"

man5="$top_srcdir/docs/lifelined.conf.5"
example="$top_srcdir/etc/lifelined.conf"
[ -f "$man5" ] || { plan 1; not_ok "docs/lifelined.conf.5 exists"; exit 1; }

# The names in conf_table: [C_SERIAL] = { "serial", CONF_STRING },
settings=$(sed -n 's/^[[:space:]]*\[C_[A-Z_]*\] = { "\([a-z-]*\)", CONF_.*/\1/p' \
    "$top_srcdir/agent/conf.c")
n=$(echo "$settings" | wc -w)
# The table's rows: after the format line ("l l l.") and the header row,
# up to .TE.
rows=$(awk '/^\.TS/ { t = 1; next } t && /^l l l\.$/ { r = 1; getline; next }
    /^\.TE/ { t = r = 0 } r { print }' "$man5")
plan $((n * 5 + 5))
is "conf.c names settings (parsed $n)" "$([ "$n" -ge 10 ] && echo yes)" yes

for s in $settings; do
	row=$(printf '%s\n' "$rows" | awk -F '\t' -v s="$s" '$1 == s')
	opt=$(printf '%s\n' "$row" | awk -F '\t' '{ print $3 }' | sed 's/\\-/-/g')
	is "$s: a row in the man page's table" "$([ -n "$row" ] && echo yes)" yes
	is "$s: the table's option is --$s" "$opt" "--$s"
	# The option must exist in lifelined's getopt table.
	check "$s: lifelined has --$s" grep -q "{ \"$s\", " \
	    "$top_srcdir/agent/lifelined.c"
	check "$s: an entry in the man page" grep -q "^\\.BI $s " "$man5"
	check "$s: a commented line in etc/lifelined.conf" grep -q "^#$s " "$example"
done

extra=$(printf '%s\n' "$rows" | awk -F '\t' '{ print $1 }' | while read -r r; do
	echo "$settings" | grep -qx "$r" || echo "$r"; done)
is "the table names no setting conf.c lacks" "$extra" ""

# As installed the file sets nothing: the agent then wants a transport
# (and says so), rather than rejecting a line of the file.
cp "$example" "$T/as-shipped.conf"
chmod 600 "$T/as-shipped.conf"
"$LIFELINED" --config "$T/as-shipped.conf" >"$T/out" 2>&1
check "the file as shipped is accepted (agent asks for a transport)" \
    grep -q 'give one of --serial' "$T/out"

# With every setting uncommented, the only error left must be the one
# that needs the whole file parsed first: serial and listen together.
sed -n 's/^#\([a-z][a-z-]* .*\)/\1/p' "$example" >"$T/all.conf"
chmod 600 "$T/all.conf"
"$LIFELINED" --config "$T/all.conf" >"$T/out" 2>&1
check "every example line is valid (only serial+listen clash)" \
    grep -q 'give only one of serial and listen' "$T/out"
check "the uncommented file holds every setting" \
    test "$(wc -l <"$T/all.conf")" -eq "$n"
