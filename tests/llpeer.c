/*
 * llpeer: a misbehaving peer for the system tests.
 *
 *   llpeer frame [--type N] [--dir N] [--stream N] [--seq N] [--ack N]
 *                [--epochs C,A] [--len-field N] [--payload-hex HEX]
 *                [--payload-len N] [--tag 7|8] [--flip N]
 *       Write one frame to stdout, built by hand (not with ll_frame_encode)
 *       so that its fields can lie: a length field that disagrees with the
 *       payload, a payload over the cap, a flipped body byte, other epochs.
 *   llpeer raw --via SPEC [--stream N] [--hex HEX] [--request OP=JSON]
 *              [--claim-ssh] [--wait-ms N]
 *       Connect as a client, send a HELLO, write HEX as raw bytes into link stream N
 *       (bypassing the message encoder) and/or a well-formed REQUEST record
 *       (id 1, op OP, args JSON), then print every message that arrives for
 *       --wait-ms as "KIND ID JSON" lines ("KIND ID chN" for DATA and
 *       EOF; its HELLO offers no capability, so an agent never sends it
 *       ZDATA, kind 9; --caps A,B offers those).  --claim-ssh says SSH in the
 *       link HELLO, as a real client does, but sends its records in the
 *       clear: what an intruder on the console line without a key can do.
 *   llpeer raw ... --request OP=JSON --stdin-bytes N
 *       After the request, send N zero bytes as its DATA on channel 0
 *       (stdin) as fast as the session takes them, ignoring the window
 *       the agent grants: what a client that overruns it does.
 *   llpeer raw ... --call ID:CHANNELS:OP=JSON [--call ...]
 *       After the above, make requests one after the other, as a client
 *       built from docs/protocol.md would: request ID (any id, reused ones
 *       too), then wait until it has ended: at its ERROR, or at its REPLY
 *       once an EOF has come for every channel in CHANNELS (digits, "-" for
 *       none).  Prints "END ID" then, or "TIMEOUT ID" after --wait-ms.
 *   llpeer forge-reset --reason N
 *       Be someone on the line, on stdin/stdout (a client's exec: transport):
 *       answer every HELLO with an unauthenticated RESET for its client
 *       epoch with reason N, as an agent would, until stdin ends.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "buf.h"
#include "error.h"
#include "frame.h"
#include "msg.h"
#include "session.h"

static int
hex_decode(const char *hex, uint8_t *out, size_t max)
{
	size_t n = 0;
	unsigned v;

	while (hex[0] != '\0' && hex[1] != '\0' && n < max) {
		if (sscanf(hex, "%2x", &v) != 1)
			return -1;
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return (int)n;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static int
cmd_frame(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "type", 1, NULL, 't' }, { "dir", 1, NULL, 'd' },
		{ "stream", 1, NULL, 's' }, { "seq", 1, NULL, 'q' },
		{ "ack", 1, NULL, 'a' }, { "epochs", 1, NULL, 'e' },
		{ "len-field", 1, NULL, 'L' }, { "payload-hex", 1, NULL, 'x' },
		{ "payload-len", 1, NULL, 'n' }, { "tag", 1, NULL, 'g' },
		{ "flip", 1, NULL, 'f' }, { NULL, 0, NULL, 0 }
	};
	static uint8_t body[70000];
	unsigned type = 2, dir = 0, stream = 0, seq = 0, ack = 0;
	unsigned long ce = 0, ae = 0;
	long len_field = -1, flip = -1;
	size_t plen = 0;
	char tag = '7';
	struct ll_alphabet a;
	struct ll_buf out;
	uint8_t ep[8], crcb[4];
	uLong crc;
	int ch, n;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 't': type = (unsigned)atoi(optarg); break;
		case 'd': dir = (unsigned)atoi(optarg); break;
		case 's': stream = (unsigned)atoi(optarg); break;
		case 'q': seq = (unsigned)atoi(optarg); break;
		case 'a': ack = (unsigned)atoi(optarg); break;
		case 'e':
			if (sscanf(optarg, "%lu,%lu", &ce, &ae) != 2)
				return 2;
			break;
		case 'L': len_field = atol(optarg); break;
		case 'x':
			if ((n = hex_decode(optarg, body + 8, 65536)) < 0)
				return 2;
			plen = (size_t)n;
			break;
		case 'n':
			plen = (size_t)atol(optarg);
			if (plen > 65536)
				return 2;
			memset(body + 8, 'x', plen);
			break;
		case 'g': tag = optarg[0]; break;
		case 'f': flip = atol(optarg); break;
		default: return 2;
		}
	}
	if (len_field < 0)
		len_field = (long)plen;
	body[0] = (uint8_t)(1 << 5 | (dir & 1) << 4 | (type & 15));
	body[1] = (uint8_t)stream;
	body[2] = seq >> 8; body[3] = (uint8_t)seq;
	body[4] = ack >> 8; body[5] = (uint8_t)ack;
	body[6] = (uint8_t)(len_field >> 8); body[7] = (uint8_t)len_field;
	put32(ep, ll_frame_type_is_unbound((uint8_t)type) ? 0 : (uint32_t)ce);
	put32(ep + 4, ll_frame_type_is_unbound((uint8_t)type) ? 0 : (uint32_t)ae);
	crc = crc32(0L, Z_NULL, 0);
	crc = crc32(crc, ep, 8);
	crc = crc32(crc, body, (uInt)(8 + plen));
	put32(crcb, (uint32_t)crc);
	memcpy(body + 8 + plen, crcb, 4);
	if (tag == '8')
		ll_alphabet_init_8bit(&a);
	else
		ll_alphabet_init_7bit(&a);
	ll_buf_init(&out, 200000);
	ll_buf_put_u8(&out, LL_FRAME_MARKER);
	ll_buf_put_u8(&out, (uint8_t)tag);
	if (ll_radix_encode(&a, body, 8 + plen + 4, &out) != 0)
		return 1;
	if (flip >= 0 && (size_t)flip + 2 < ll_buf_avail(&out)) {
		uint8_t *p = out.d + out.off + 2 + flip;

		*p = *p == a.sym[0] ? a.sym[1] : a.sym[0];
	}
	ll_buf_put_u8(&out, '\n');
	fwrite(ll_buf_ptr(&out), 1, ll_buf_avail(&out), stdout);
	ll_buf_cleanup(&out);
	return 0;
}

/* One round of session I/O; -1 when the session failed (printed). */
static int
raw_pump(struct ll_session *s, struct ll_transport *t, int tmo)
{
	struct pollfd pfd[2];

	ll_session_pollfds(s, pfd, ll_now_ms(), &tmo);
	poll(pfd, t->rfd == t->wfd ? 1 : 2, tmo);
	if (ll_session_io(s, pfd, ll_now_ms()) != 0) {
		printf("SESSION %s\n", ll_session_error_text(s));
		return -1;
	}
	return 0;
}

/*
 * Print every record that has arrived as "KIND ID JSON"; for request id,
 * note its REPLY/ERROR and the channels whose EOF came.  -1 on a bad one.
 */
static int
raw_print(struct ll_session *s, uint32_t id, int *ended, unsigned *eofs)
{
	struct ll_msg m;
	char *js;
	int rc;

	while ((rc = ll_session_recv(s, &m)) != 0) {
		if (rc < 0) {
			printf("BAD %s\n", ll_strerror(rc));
			return -1;
		}
		js = m.json != NULL ? json_dumps(m.json,
		    JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		/* DATA that came as ZDATA prints as kind 9, as on the wire */
		if (m.kind == LL_MSG_EOF || m.kind == LL_MSG_DATA)
			printf("%u %u ch%u\n", m.compressed ? LL_MSG_ZDATA :
			    m.kind, m.id, m.flags);
		else
			printf("%u %u %s\n", m.kind, m.id, js != NULL ? js : "-");
		free(js);
		if (id != 0 && m.id == id) {
			if (m.kind == LL_MSG_REPLY || m.kind == LL_MSG_ERROR)
				*ended = m.kind;
			if (m.kind == LL_MSG_EOF)
				*eofs |= 1u << m.flags;
		}
		ll_msg_cleanup(&m);
	}
	fflush(stdout);
	return 0;
}

/*
 * --call ID:CHANNELS:OP=JSON: send the request, wait for its end as the
 * spec defines it.  0 when it ended, 1 on timeout, -1 on a failure.
 */
static int
raw_call(struct ll_session *s, struct ll_transport *t, const char *spec,
    int wait_ms)
{
	char op[64], chans[8];
	unsigned long id;
	unsigned want = 0, eofs = 0;
	int n = 0, ended = 0;
	const char *eq, *c;
	json_t *args, *req;
	uint64_t end;

	if (sscanf(spec, "%lu:%7[-0-9]:%n", &id, chans, &n) != 2 || n == 0 ||
	    (eq = strchr(spec + n, '=')) == NULL ||
	    (size_t)(eq - spec - n) >= sizeof(op) ||
	    (args = json_loads(eq + 1, 0, NULL)) == NULL) {
		fprintf(stderr, "llpeer: --call ID:CHANNELS:OP=JSON\n");
		return -1;
	}
	for (c = chans; *c != '\0'; c++)
		if (*c >= '0' && *c <= '3')
			want |= 1u << (*c - '0');
	snprintf(op, sizeof(op), "%.*s", (int)(eq - spec - n), spec + n);
	req = json_pack("{s:s, s:o}", "op", op, "args", args);
	ll_session_send_json(s, LL_MSG_REQUEST, (uint32_t)id, req);
	json_decref(req);
	for (end = ll_now_ms() + (uint64_t)wait_ms; ll_now_ms() < end;) {
		if (raw_pump(s, t, 50) != 0 ||
		    raw_print(s, (uint32_t)id, &ended, &eofs) != 0)
			return -1;
		/* An ERROR ends a request; a REPLY once its channels ended. */
		if (ended == LL_MSG_ERROR ||
		    (ended == LL_MSG_REPLY && (eofs & want) == want)) {
			printf("END %lu\n", id);
			fflush(stdout);
			return 0;
		}
	}
	printf("TIMEOUT %lu\n", id);
	fflush(stdout);
	return 1;
}

static int
cmd_raw(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "via", 1, NULL, 'v' }, { "stream", 1, NULL, 's' },
		{ "hex", 1, NULL, 'x' }, { "wait-ms", 1, NULL, 'w' },
		{ "request", 1, NULL, 'r' }, { "claim-ssh", 0, NULL, 'c' },
		{ "call", 1, NULL, 'C' }, { "stdin-bytes", 1, NULL, 'I' },
		{ "caps", 1, NULL, 'k' }, { NULL, 0, NULL, 0 }
	};
	static uint8_t raw[65536];
	unsigned long long in_bytes = 0, in_sent = 0;
	const char *via = NULL, *request = NULL, *calls[16], *capl = NULL;
	int ncalls = 0, i;
	bool claim_ssh = false;
	struct ll_link_config cfg;
	struct ll_transport *t;
	struct ll_session *s;
	struct pollfd pfd[2];
	char err[512];
	unsigned stream = 0;
	int ch, n = 0, wait_ms = 3000;
	uint64_t end;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'v': via = optarg; break;
		case 's': stream = (unsigned)atoi(optarg); break;
		case 'x':
			if ((n = hex_decode(optarg, raw, sizeof(raw))) < 0)
				return 2;
			break;
		case 'w': wait_ms = atoi(optarg); break;
		case 'r': request = optarg; break;
		case 'c': claim_ssh = true; break;
		case 'k': capl = optarg; break;
		case 'I': in_bytes = strtoull(optarg, NULL, 10); break;
		case 'C':
			if (ncalls == 16)
				return 2;
			calls[ncalls++] = optarg;
			break;
		default: return 2;
		}
	}
	if (via == NULL || ll_transport_open(via, &t, err, sizeof(err)) != 0) {
		fprintf(stderr, "llpeer: %s\n", via == NULL ? "no --via" : err);
		return 1;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.epoch = (uint32_t)getpid() * 2654435761u | 1;
	cfg.ssh = claim_ssh;
	s = ll_session_new(t, &cfg, ll_now_ms());
	end = ll_now_ms() + 10000;
	while (!ll_session_is_up(s) && ll_now_ms() < end) {
		int tmo = 100;

		ll_session_pollfds(s, pfd, ll_now_ms(), &tmo);
		poll(pfd, t->rfd == t->wfd ? 1 : 2, tmo);
		if (ll_session_io(s, pfd, ll_now_ms()) != 0)
			break;
	}
	if (!ll_session_is_up(s)) {
		fprintf(stderr, "llpeer: link did not come up: %s\n",
		    ll_session_error_text(s));
		ll_session_free(s);
		return 1;
	}
	{
		/* --caps A,B: the HELLO's caps (none without it, as an
		 * old client's) */
		json_t *caps = json_array(), *hello;
		char cl[256], *c, *sp = NULL;

		snprintf(cl, sizeof(cl), "%s", capl != NULL ? capl : "");
		for (c = strtok_r(cl, ",", &sp); c != NULL;
		    c = strtok_r(NULL, ",", &sp))
			json_array_append_new(caps, json_string(c));
		hello = ll_msg_hello_new("client", "llpeer", caps);
		json_decref(caps);
		ll_session_send_json(s, LL_MSG_HELLO, 0, hello);
		json_decref(hello);
		for (end = ll_now_ms() + 200; ll_now_ms() < end;) {
			int tmo = 20;

			ll_session_pollfds(s, pfd, ll_now_ms(), &tmo);
			poll(pfd, t->rfd == t->wfd ? 1 : 2, tmo);
			ll_session_io(s, pfd, ll_now_ms());
		}
	}
	if (request != NULL) {
		const char *eq = strchr(request, '=');
		char op[64];
		json_t *args, *req;

		if (eq == NULL || (size_t)(eq - request) >= sizeof(op) ||
		    (args = json_loads(eq + 1, 0, NULL)) == NULL) {
			fprintf(stderr, "llpeer: --request OP=JSON\n");
			return 2;
		}
		snprintf(op, sizeof(op), "%.*s", (int)(eq - request), request);
		req = json_pack("{s:s, s:o}", "op", op, "args", args);
		ll_session_send_json(s, LL_MSG_REQUEST, 1, req);
		json_decref(req);
	}
	while (in_sent < in_bytes) {
		static const uint8_t zero[16384];
		size_t k = ll_session_room(s);

		if (k > sizeof(zero))
			k = sizeof(zero);
		if (k > in_bytes - in_sent)
			k = (size_t)(in_bytes - in_sent);
		if (k == 0) {
			if (raw_pump(s, t, 50) != 0)
				break;
			continue;
		}
		ll_session_send_data(s, LL_CH_STDIN, 1, zero, k);
		in_sent += k;
	}
	if (n > 0 &&
	    ll_link_write(ll_session_link(s), stream, raw, (size_t)n) != n) {
		fprintf(stderr, "llpeer: could not queue %d bytes\n", n);
		return 1;
	}
	for (i = 0; i < ncalls; i++) {
		if (raw_call(s, t, calls[i], wait_ms) < 0)
			break;
	}
	if (ncalls > 0)
		wait_ms = 300;	/* what still comes after the last call */
	end = ll_now_ms() + (uint64_t)wait_ms;
	while (i == ncalls && ll_now_ms() < end) {
		int ended = 0;
		unsigned eofs = 0;

		if (raw_pump(s, t, 50) != 0 ||
		    raw_print(s, 0, &ended, &eofs) != 0)
			break;
	}
	ll_session_free(s);
	return 0;
}

static int
cmd_forge_reset(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "reason", 1, NULL, 'r' }, { NULL, 0, NULL, 0 }
	};
	struct ll_frame_decoder d;
	struct ll_frame_event ev;
	struct ll_frame f;
	struct ll_epochs ep = { 0, 0 };
	struct ll_alphabet a;
	struct ll_buf out;
	uint8_t in[4096];
	size_t off, used;
	ssize_t n;
	int ch, reason = -1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch != 'r')
			return 2;
		reason = atoi(optarg);
	}
	if (reason < 0 || reason > 255)
		return 2;
	ll_frame_decoder_init(&d);
	ll_alphabet_init_7bit(&a);
	ll_buf_init(&out, 4096);
	while ((n = read(0, in, sizeof(in))) > 0) {
		for (off = 0; off < (size_t)n; off += used) {
			if (ll_frame_decoder_feed(&d, in + off, (size_t)n - off,
			    &used, &ev) != LL_FEV_FRAME ||
			    ev.frame.type != LL_FT_HELLO || ev.frame.len < 8)
				continue;
			memset(&f, 0, sizeof(f));
			f.type = LL_FT_RESET;
			f.dir = LL_DIR_TO_CLIENT;
			f.len = 9;
			memcpy(f.payload, ev.frame.payload + 4, 4);
			put32(f.payload + 4, 0x0f0f0f0f);
			f.payload[8] = (uint8_t)reason;
			ll_buf_reset(&out);
			if (ll_frame_encode(&f, &a, LL_FRAME_TAG_7BIT, &ep,
			    &out) != 0 || write(1, ll_buf_ptr(&out),
			    ll_buf_avail(&out)) < 0)
				return 1;
		}
	}
	ll_buf_cleanup(&out);
	ll_frame_decoder_cleanup(&d);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "frame") == 0)
		return cmd_frame(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "raw") == 0)
		return cmd_raw(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "forge-reset") == 0)
		return cmd_forge_reset(argc - 1, argv + 1);
	fprintf(stderr, "usage: llpeer frame|raw|forge-reset ...\n");
	return 2;
}
