#!/bin/sh
# How a request starts and ends, checked with llpeer acting as a client
# built from docs/protocol.md alone (issue 10, items 15-17): an ERROR ends a
# request by itself (a peer that waited for EOFs after it waited for ever),
# a request id is never accepted twice in a session (ids must increase), and
# a malformed record's bad_request carries the record's id.
. "$(dirname "$0")/lib.sh"
plan 21

start_ptys a b
start_agent --serial "$T/a"
VIA="serial:$T/b"

# Item 15.  Each call waits as the spec says: an ERROR ends the request, a
# REPLY once the EOF of every channel the operation streams has come.
out=$("$LLPEER" raw --via "$VIA" --wait-ms 5000 \
	--call '1:12:exec={"argv":["/nonexistent/command"]}' \
	--call '2:3:get={"path":"/nonexistent/file","rescue_host":true}' \
	--call '3:12:fsck={"device":"/nonexistent/device"}' \
	--call '4:12:exec={"argv":["/bin/sh","-c","echo out; echo err >&2"]}' \
	--call '5:3:get={"path":"/etc/hostname","rescue_host":true}')
diag "$out"
echo "$out" | grep -q '^4 1 .*"code":"exec_failed"' && ok "exec of a missing command: ERROR exec_failed" || not_ok "exec_failed"
echo "$out" | grep -q '^END 1$' && ok "and that ERROR ends the request" || not_ok "request 1 did not end"
echo "$out" | grep -q '^4 2 .*"code":"not_found"' && echo "$out" | grep -q '^END 2$' && ok "get of a missing file ends at its ERROR not_found" || not_ok "request 2"
echo "$out" | grep -q '^4 3 .*"code":"not_found"' && echo "$out" | grep -q '^END 3$' && ok "fsck of a missing device ends at its ERROR" || not_ok "request 3"
echo "$out" | grep -q '^3 4 ' && echo "$out" | grep -q '^8 4 ch1$' && echo "$out" | grep -q '^8 4 ch2$' && echo "$out" | grep -q '^END 4$' && ok "exec that runs: REPLY and EOF on stdout and stderr" || not_ok "request 4"
echo "$out" | grep -q '^3 5 ' && echo "$out" | grep -q '^8 5 ch3$' && echo "$out" | grep -q '^END 5$' && ok "get that works: REPLY and EOF on the file channel" || not_ok "request 5"
echo "$out" | grep -q '^5 5 .*"name":"hostname"' && ok "get's EVENT names the file by its last component, as file-stat does" || not_ok "get EVENT name"
! echo "$out" | grep -q TIMEOUT && ok "no request left the peer waiting" || not_ok "a request never ended"
n=$(echo "$out" | grep -c '^[34] [1-5] ')
is "exactly one REPLY or ERROR per request" "$n" 5

# Item 18: the agent's HELLO lists operations ("jobs" since issue 11), says insecure;
# info has target_root.
out=$("$LLPEER" raw --via "$VIA" --wait-ms 3000 --call '1:-:info={}')
echo "$out" | grep -q '^1 0 .*"caps":\["info",.*"insecure":true' && echo "$out" | grep -q '"jobs","job-output","job-wait","job-signal"' && ok "the agent's HELLO: operations as caps (jobs among them), insecure: true" || not_ok "hello: $out"
echo "$out" | grep -q '^3 1 .*"target_root":null' && ok "info says target_root (null: none mounted)" || not_ok "info: $out"
# A client that offers brief-hello gets the agent's features only, and its
# requests work as before.
out=$("$LLPEER" raw --via "$VIA" --wait-ms 3000 --caps brief-hello,zdata --call '1:-:info={}')
echo "$out" | grep -q '^1 0 {"caps":\["brief-hello","zdata"\],"insecure":true' && ok "brief-hello: the agent's HELLO lists its features, not its operations" || not_ok "brief hello: $out"
echo "$out" | grep -q '^3 1 .*"target_root":null' && ok "and its requests are served" || not_ok "brief hello info: $out"

# Item 17.  A reused id is refused, after the request ended as well as with
# a lower id; the refusal names the id.
out=$("$LLPEER" raw --via "$VIA" --wait-ms 3000 \
	--call '1:-:ping={}' --call '1:-:ping={}' --call '7:-:ping={}' \
	--call '3:-:ping={}' --call '8:-:ping={}')
diag "$out"
[ "$(echo "$out" | grep -c '^3 1 ')" = 1 ] && ok "the first request 1 is answered once" || not_ok "request 1 answers"
echo "$out" | grep -q '^4 1 .*"code":"bad_request".*request id 1 was already used' && ok "a second request 1 gets bad_request naming the id" || not_ok "reused id 1"
echo "$out" | grep -q '^4 3 .*"code":"bad_request".*request id 3 was already used.*the last one was 7' && ok "an id lower than an earlier one is refused too" || not_ok "lower id 3"
echo "$out" | grep -q '^3 8 ' && ok "a higher id works after the refusals" || not_ok "request 8"
out=$("$LLPEER" raw --via "$VIA" --wait-ms 3000 --call '1:-:ping={}')
echo "$out" | grep -q '^3 1 ' && ok "a new session starts its ids afresh" || not_ok "new session: $out"

# Item 16.  A malformed record's bad_request carries its id when readable.
out=$("$LLPEER" raw --via "$VIA" --stream 0 --hex 0000000502000000000f7b7b7b7b7b --wait-ms 1500)
echo "$out" | grep -q '^4 15 .*"code":"bad_request".*malformed record (kind 2)' && ok "malformed JSON in request 15: bad_request with id 15" || not_ok "bad json id: $out"
# kind 99 (unknown, a newer peer's) for id 9: skipped, answered on id 0
out=$("$LLPEER" raw --via "$VIA" --stream 0 --hex 00000000630000000009 --wait-ms 1500)
echo "$out" | grep -q '^4 0 .*unknown record (kind 99, id 9)' && ok "an unknown kind is answered on id 0, naming its id" || not_ok "unknown kind: $out"
# a DATA record with channel 7 for a running exec ends that request
out=$("$LLPEER" raw --via "$VIA" --request 'exec={"argv":["sleep","30"]}' --stream 1 --hex 0000000107070000000141 --wait-ms 2000)
echo "$out" | grep -q '^4 1 .*"code":"bad_request".*for request 1' && ok "a malformed DATA record ends its running request with bad_request" || not_ok "bad data: $out"
