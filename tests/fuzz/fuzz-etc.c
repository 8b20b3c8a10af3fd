/*
 * libFuzzer target for the target's small text files: etc/os-release
 * (agent/etc-text.c, read by inspect) and etc/login.defs (agent/pw-file.c,
 * read by passwd-info).  The whole input is given to both parsers.
 *
 * Properties checked (abort() on violation): the result is an object of
 * the known keys only, with string values of bounded length; and it round
 * trips: writing each value back in the format's own quoting and parsing
 * that again gives an equal object.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etc-text.h"
#include "pw-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const os_keys[] = { "PRETTY_NAME", "NAME", "VERSION_ID",
    "VERSION", "ID", "ID_LIKE", "VERSION_CODENAME", NULL };
static const char *const defs_keys[] = { "ENCRYPT_METHOD",
    "YESCRYPT_COST_FACTOR", "SHA_CRYPT_MIN_ROUNDS", "SHA_CRYPT_MAX_ROUNDS",
    "BCRYPT_MIN_ROUNDS", "BCRYPT_MAX_ROUNDS", "MD5_CRYPT_ENAB", NULL };

/* A growing text. */
struct text {
	char *p;
	size_t len, cap;
};

static void
text_add(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		if ((t->p = realloc(t->p, t->cap)) == NULL)
			abort();
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static bool
is_known(const char *const *keys, const char *k)
{
	for (; *keys != NULL; keys++)
		if (strcmp(*keys, k) == 0)
			return true;
	return false;
}

/* Keys known, values strings shorter than max. */
static void
check_object(json_t *o, const char *const *keys, size_t max)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o))
		abort();
	json_object_foreach(o, k, v) {
		if (!is_known(keys, k) || !json_is_string(v) ||
		    json_string_length(v) > max ||
		    strlen(json_string_value(v)) != json_string_length(v))
			abort();
	}
}

/* os-release written back: KEY="value" with \ and " escaped. */
static void
os_release_round_trip(json_t *o)
{
	struct text t = { NULL, 0, 0 };
	const char *k, *s;
	json_t *v, *o2;

	text_add(&t, "", 0);
	json_object_foreach(o, k, v) {
		text_add(&t, k, strlen(k));
		text_add(&t, "=\"", 2);
		for (s = json_string_value(v); *s != '\0'; s++) {
			if (*s == '\\' || *s == '"')
				text_add(&t, "\\", 1);
			text_add(&t, s, 1);
		}
		text_add(&t, "\"\n", 2);
	}
	o2 = etc_os_release_parse(t.p);
	if (!json_equal(o, o2))
		abort();
	json_decref(o2);
	free(t.p);
}

/* login.defs written back: KEY "value", or KEY value when it holds a quote
 * (then it came unquoted, so it has no blank). */
static void
login_defs_round_trip(json_t *o)
{
	struct text t = { NULL, 0, 0 };
	const char *k, *s;
	json_t *v, *o2;

	text_add(&t, "", 0);
	json_object_foreach(o, k, v) {
		s = json_string_value(v);
		text_add(&t, k, strlen(k));
		if (strchr(s, '"') != NULL) {
			if (strpbrk(s, " \t=") != NULL)
				abort();
			text_add(&t, " ", 1);
			text_add(&t, s, strlen(s));
		} else {
			text_add(&t, " \"", 2);
			text_add(&t, s, strlen(s));
			text_add(&t, "\"", 1);
		}
		text_add(&t, "\n", 1);
	}
	o2 = pw_login_defs_parse(t.p);
	if (!json_equal(o, o2))
		abort();
	json_decref(o2);
	free(t.p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	json_t *o;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	o = etc_os_release_parse(text);
	check_object(o, os_keys, ETC_VALUE_MAX);
	os_release_round_trip(o);
	json_decref(o);

	memcpy(text, data, size);
	text[size] = '\0';
	o = pw_login_defs_parse(text);
	check_object(o, defs_keys, 63);
	login_defs_round_trip(o);
	json_decref(o);
	free(text);
	return 0;
}
