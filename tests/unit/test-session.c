/*
 * Unit tests for the session (proto/session.c): a client and an agent
 * session, each on its end of a real socketpair (the fd: transport), with
 * the link in between (no SSH, as --insecure), pumped by a poll loop the
 * way both programs pump theirs.
 *
 * Checked: both come up; control records arrive whole, in order, with kind,
 * id and body; DATA of 256 KiB on a channel arrives byte for byte, sent
 * only while ll_session_room() allows, then its EOF; with nobody reading
 * the agent's side, room falls to 0 (memory stays bounded) and comes back
 * once the peer reads; drained once all is acknowledged; console text
 * written between frames reaches the console callback and never a
 * message; the agent's orderly close ends the client with LL_ERR_CLOSED,
 * a client's leaves the agent waiting for the next one; a second
 * client (a new epoch) on the same line gives the agent a new generation;
 * a direct session (no link) is up at once and carries the same records.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "session.h"
#include "testutil.h"

#define SEED		0x5e551011U
#define WAIT_MS		10000	/* any case, on a loaded machine */
#define BULK		(256 * 1024)

struct side {
	struct ll_session *s;
	int rc;			/* the last ll_session_io() result */
	char console[256];	/* console text seen */
	size_t console_len;
};

struct pair {
	struct side c, a;
	int raw_a;		/* a dup of the agent's end, for raw bytes */
};

static void
on_console(void *ctx, const uint8_t *p, size_t n)
{
	struct side *sd = ctx;

	if (n > sizeof(sd->console) - 1 - sd->console_len)
		n = sizeof(sd->console) - 1 - sd->console_len;
	memcpy(sd->console + sd->console_len, p, n);
	sd->console_len += n;
	sd->console[sd->console_len] = '\0';
}

static struct ll_session *
session_on(int fd, bool agent, uint32_t epoch)
{
	struct ll_link_config cfg = { .is_agent = agent,
	    .encoding = LL_ENC_AUTO, .epoch = epoch };
	struct ll_transport *t;
	struct ll_session *s;
	char spec[32], err[256];

	snprintf(spec, sizeof(spec), "fd:%d,%d", fd, fd);
	if (ll_transport_open(spec, &t, err, sizeof(err)) != 0)
		fail_msg("%s: %s", spec, err);
	assert_non_null(s = ll_session_new(t, &cfg, ll_now_ms()));
	return s;
}

static void
pair_open(struct pair *p)
{
	int sv[2];

	memset(p, 0, sizeof(*p));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	assert_true((p->raw_a = dup(sv[1])) >= 0);
	p->c.s = session_on(sv[0], false, 0xc1c1c1c1);
	p->a.s = session_on(sv[1], true, 0xa9a9a9a9);
	ll_session_set_console(p->c.s, on_console, &p->c);
	ll_session_set_console(p->a.s, on_console, &p->a);
}

static void
pair_close(struct pair *p)
{
	ll_session_free(p->c.s);
	ll_session_free(p->a.s);
	close(p->raw_a);
}

/* One round of both loops; a side may sit out (its peer not read). */
static void
pump(struct pair *p, bool run_c, bool run_a)
{
	struct pollfd pfd[2 * LL_SESSION_POLLFDS_MAX];
	struct side *sd[2] = { &p->c, &p->a };
	bool run[2] = { run_c, run_a };
	uint64_t now = ll_now_ms();
	int n[2] = { 0, 0 }, timeout = 10, i;

	for (i = 0; i < 2; i++)
		if (run[i] && sd[i]->rc == 0)
			n[i] = ll_session_pollfds(sd[i]->s,
			    &pfd[i * LL_SESSION_POLLFDS_MAX], now, &timeout);
	if (timeout < 0 || timeout > 10)
		timeout = 10;
	for (i = 0; i < 2; i++)
		if (n[i] > 0)
			poll(&pfd[i * LL_SESSION_POLLFDS_MAX], (nfds_t)n[i],
			    i == 0 && n[1] > 0 ? 0 : timeout);
	now = ll_now_ms();
	for (i = 0; i < 2; i++)
		if (run[i] && sd[i]->rc == 0)
			sd[i]->rc = ll_session_io(sd[i]->s,
			    &pfd[i * LL_SESSION_POLLFDS_MAX], now);
}

static bool
both_up(struct pair *p)
{
	return ll_session_is_up(p->c.s) && ll_session_is_up(p->a.s);
}

static void
pair_up(struct pair *p)
{
	uint64_t end = ll_now_ms() + WAIT_MS;

	while (!both_up(p) && ll_now_ms() < end)
		pump(p, true, true);
	assert_true(both_up(p));
}

/* The next message of side sd, pumping both until it comes. */
static void
next_msg(struct pair *p, struct side *sd, struct ll_msg *m)
{
	uint64_t end = ll_now_ms() + WAIT_MS;
	int r;

	while ((r = ll_session_recv(sd->s, m)) == 0 && ll_now_ms() < end)
		pump(p, true, true);
	assert_int_equal(r, 1);
}

static void
test_up_and_records(void **state)
{
	struct pair p;
	struct ll_msg m;
	json_t *o;
	int i;

	(void)state;
	pair_open(&p);
	pair_up(&p);
	assert_true(ll_session_generation(p.a.s) != 0);
	for (i = 1; i <= 3; i++) {
		o = json_pack("{s:s, s:i}", "op", "ping", "n", i);
		assert_int_equal(ll_session_send_json(p.c.s, LL_MSG_REQUEST,
		    (uint32_t)i, o), 0);
		json_decref(o);
	}
	assert_int_equal(ll_session_send_error(p.a.s, 9, "not_found",
	    "no %s here", "thing"), 0);
	for (i = 1; i <= 3; i++) {
		next_msg(&p, &p.a, &m);
		assert_int_equal(m.kind, LL_MSG_REQUEST);
		assert_int_equal(m.id, (uint32_t)i);
		assert_string_equal(json_string_value(json_object_get(m.json,
		    "op")), "ping");
		assert_int_equal(json_integer_value(json_object_get(m.json,
		    "n")), i);
		ll_msg_cleanup(&m);
	}
	next_msg(&p, &p.c, &m);
	assert_int_equal(m.kind, LL_MSG_ERROR);
	assert_int_equal(m.id, 9);
	assert_string_equal(json_string_value(json_object_get(m.json,
	    "code")), "not_found");
	assert_string_equal(json_string_value(json_object_get(m.json,
	    "message")), "no thing here");
	ll_msg_cleanup(&m);
	pair_close(&p);
}

/* 256 KiB of DATA, sent as room allows, received in order, then EOF. */
static void
test_bulk(void **state)
{
	uint8_t *want, *got;
	size_t sent = 0, recvd = 0;
	uint64_t end;
	struct pair p;
	struct ll_msg m;
	bool eof = false;
	uint32_t seed = SEED;
	size_t i;

	(void)state;
	print_message("# seed %08x\n", SEED);
	assert_non_null(want = malloc(BULK));
	assert_non_null(got = malloc(BULK));
	for (i = 0; i < BULK; i++)
		want[i] = (uint8_t)rnd(&seed);
	pair_open(&p);
	pair_up(&p);
	end = ll_now_ms() + 6 * WAIT_MS;
	while (!eof && ll_now_ms() < end) {
		size_t room = ll_session_room(p.a.s), n = BULK - sent;

		if (sent < BULK && room > 0) {
			if (n > room)
				n = room;
			assert_int_equal(ll_session_send_data(p.a.s, 1, 7,
			    want + sent, n), 0);
			sent += n;
			if (sent == BULK)
				assert_int_equal(ll_session_send_eof(p.a.s, 1,
				    7), 0);
		}
		pump(&p, true, true);
		while (ll_session_recv(p.c.s, &m) == 1) {
			assert_int_equal(m.id, 7);
			assert_int_equal(m.flags, 1);
			if (m.kind == LL_MSG_EOF)
				eof = true;
			else {
				assert_int_equal(m.kind, LL_MSG_DATA);
				assert_true(recvd + m.data_len <= BULK);
				memcpy(got + recvd, m.data, m.data_len);
				recvd += m.data_len;
			}
			ll_msg_cleanup(&m);
		}
	}
	assert_true(eof);
	assert_int_equal(recvd, BULK);
	assert_memory_equal(got, want, BULK);
	/* everything acknowledged, in time */
	end = ll_now_ms() + WAIT_MS;
	while (!ll_session_is_drained(p.a.s) && ll_now_ms() < end)
		pump(&p, true, true);
	assert_true(ll_session_is_drained(p.a.s));
	free(want);
	free(got);
	pair_close(&p);
}

/* With the client not reading, the agent's room runs out: bounded. */
static void
test_room_is_bounded(void **state)
{
	static uint8_t chunk[16384];
	size_t queued = 0, room;
	struct pair p;
	struct ll_msg m;
	uint64_t end;
	int rounds;

	(void)state;
	pair_open(&p);
	pair_up(&p);
	for (rounds = 0; rounds < 2000; rounds++) {
		if ((room = ll_session_room(p.a.s)) == 0)
			break;
		if (room > sizeof(chunk))
			room = sizeof(chunk);
		assert_int_equal(ll_session_send_data(p.a.s, 2, 3, chunk,
		    room), 0);
		queued += room;
		pump(&p, false, true);
	}
	assert_int_equal(ll_session_room(p.a.s), 0);
	/* far less than what 2000 rounds would have queued */
	assert_true(queued < 16 * 1024 * 1024);
	print_message("# room ran out after %zu bytes\n", queued);
	/* the peer reads again: room comes back */
	end = ll_now_ms() + WAIT_MS;
	while (ll_session_room(p.a.s) == 0 && ll_now_ms() < end) {
		pump(&p, true, true);
		while (ll_session_recv(p.c.s, &m) == 1)
			ll_msg_cleanup(&m);
	}
	assert_true(ll_session_room(p.a.s) > 0);
	pair_close(&p);
}

/* Text between frames (a kernel message) is console text, not a record. */
static void
test_console_text(void **state)
{
	static const char text[] = "\r\n[  12.345] kernel: hello console\r\n";
	struct pair p;
	struct ll_msg m;
	uint64_t end;

	(void)state;
	pair_open(&p);
	pair_up(&p);
	assert_int_equal(write(p.raw_a, text, sizeof(text) - 1),
	    (ssize_t)(sizeof(text) - 1));
	end = ll_now_ms() + WAIT_MS;
	while (strstr(p.c.console, "kernel: hello console") == NULL &&
	    ll_now_ms() < end)
		pump(&p, true, true);
	assert_non_null(strstr(p.c.console, "kernel: hello console"));
	assert_int_equal(ll_session_recv(p.c.s, &m), 0);
	assert_true(both_up(&p));
	pair_close(&p);
}

/*
 * The agent's orderly end (lifelined exiting) ends the client's session
 * with LL_ERR_CLOSED; a client's orderly end leaves the agent's session
 * running, down, waiting for the next client.
 */
static void
test_close(void **state)
{
	struct pair p;
	uint64_t end;

	(void)state;
	pair_open(&p);
	pair_up(&p);
	ll_session_close(p.c.s, 200);
	end = ll_now_ms() + WAIT_MS;
	while (ll_session_is_up(p.a.s) && ll_now_ms() < end)
		pump(&p, false, true);
	assert_false(ll_session_is_up(p.a.s));
	assert_int_equal(p.a.rc, 0);
	pair_close(&p);

	pair_open(&p);
	pair_up(&p);
	ll_session_close(p.a.s, 200);
	end = ll_now_ms() + WAIT_MS;
	while (p.c.rc == 0 && ll_now_ms() < end)
		pump(&p, true, false);
	assert_int_equal(p.c.rc, LL_ERR_CLOSED);
	assert_non_null(strstr(ll_session_error_text(p.c.s), "clos"));
	pair_close(&p);
}

/* A second client on the same line: the agent starts a new generation. */
static void
test_new_client(void **state)
{
	struct pair p;
	uint32_t gen;
	int fd, sv[2];

	(void)state;
	/* the client's end is given twice: once per client session */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	memset(&p, 0, sizeof(p));
	assert_true((fd = dup(sv[0])) >= 0);
	assert_true((p.raw_a = dup(sv[1])) >= 0);
	p.c.s = session_on(sv[0], false, 0x11111111);
	p.a.s = session_on(sv[1], true, 0xa9a9a9a9);
	pair_up(&p);
	gen = ll_session_generation(p.a.s);
	/* the first client vanishes without a word; the next one comes */
	ll_session_free(p.c.s);
	p.c.s = session_on(fd, false, 0x22222222);
	p.c.rc = 0;
	pair_up(&p);
	{
		uint64_t end = ll_now_ms() + WAIT_MS;

		while (ll_session_generation(p.a.s) == gen &&
		    ll_now_ms() < end)
			pump(&p, true, true);
	}
	assert_true(ll_session_generation(p.a.s) != gen);
	assert_int_equal(p.a.rc, 0);
	pair_close(&p);
}

/* Without a link (an SSH channel's plain side): up at once, same records. */
static void
test_direct(void **state)
{
	struct ll_session *c, *a;
	struct ll_transport *tc, *ta;
	struct pollfd pfd[LL_SESSION_POLLFDS_MAX];
	char spec[32], err[256];
	struct ll_msg m;
	uint64_t end;
	int sv[2], n, tmo, r = 0;
	json_t *o;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	snprintf(spec, sizeof(spec), "fd:%d,%d", sv[0], sv[0]);
	assert_int_equal(ll_transport_open(spec, &tc, err, sizeof(err)), 0);
	snprintf(spec, sizeof(spec), "fd:%d,%d", sv[1], sv[1]);
	assert_int_equal(ll_transport_open(spec, &ta, err, sizeof(err)), 0);
	assert_non_null(c = ll_session_new_direct(tc));
	assert_non_null(a = ll_session_new_direct(ta));
	assert_true(ll_session_is_up(c));
	o = json_pack("{s:s}", "op", "info");
	assert_int_equal(ll_session_send_json(c, LL_MSG_REQUEST, 5, o), 0);
	json_decref(o);
	assert_int_equal(ll_session_send_data(c, 1, 5, "abc", 3), 0);
	end = ll_now_ms() + WAIT_MS;
	while (ll_now_ms() < end) {
		tmo = 10;
		n = ll_session_pollfds(c, pfd, ll_now_ms(), &tmo);
		poll(pfd, (nfds_t)n, 0);
		assert_int_equal(ll_session_io(c, pfd, ll_now_ms()), 0);
		tmo = 10;
		n = ll_session_pollfds(a, pfd, ll_now_ms(), &tmo);
		poll(pfd, (nfds_t)n, 10);
		assert_int_equal(ll_session_io(a, pfd, ll_now_ms()), 0);
		if ((r = ll_session_recv(a, &m)) == 1)
			break;
	}
	assert_int_equal(r, 1);
	assert_int_equal(m.kind, LL_MSG_REQUEST);
	assert_int_equal(m.id, 5);
	ll_msg_cleanup(&m);
	end = ll_now_ms() + WAIT_MS;
	while ((r = ll_session_recv(a, &m)) == 0 && ll_now_ms() < end) {
		tmo = 10;
		n = ll_session_pollfds(a, pfd, ll_now_ms(), &tmo);
		poll(pfd, (nfds_t)n, 10);
		ll_session_io(a, pfd, ll_now_ms());
	}
	assert_int_equal(r, 1);
	assert_int_equal(m.kind, LL_MSG_DATA);
	assert_int_equal(m.data_len, 3);
	assert_memory_equal(m.data, "abc", 3);
	ll_msg_cleanup(&m);
	ll_session_free(c);
	ll_session_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_up_and_records),
		cmocka_unit_test(test_bulk),
		cmocka_unit_test(test_room_is_bounded),
		cmocka_unit_test(test_console_text),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_new_client),
		cmocka_unit_test(test_direct),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
