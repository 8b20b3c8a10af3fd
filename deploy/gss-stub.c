/*
 * The portable agent links Debian's static libssh, which is built with
 * GSSAPI, but lifelined offers public-key authentication only: libssh's
 * gssapi-with-mic code is never reached (the server never enables the
 * method).  Debian ships no static GSSAPI library, and the shared one would
 * bring Kerberos (about 1.5 MB) into every deploy, so these stand in for it
 * in the bundle alone: each reports GSS_S_FAILURE (major status 13 << 16).
 * The installed lifelined links the real library.
 */
#include <stdint.h>

#define LL_GSS_FAILURE	(13u << 16)

#define LL_GSS_STUB(name)			\
	uint32_t name(void);			\
	uint32_t name(void) { return LL_GSS_FAILURE; }

LL_GSS_STUB(gss_accept_sec_context)
LL_GSS_STUB(gss_acquire_cred)
LL_GSS_STUB(gss_add_oid_set_member)
LL_GSS_STUB(gss_create_empty_oid_set)
LL_GSS_STUB(gss_display_name)
LL_GSS_STUB(gss_display_status)
LL_GSS_STUB(gss_get_mic)
LL_GSS_STUB(gss_import_name)
LL_GSS_STUB(gss_indicate_mechs)
LL_GSS_STUB(gss_init_sec_context)
LL_GSS_STUB(gss_inquire_cred)
LL_GSS_STUB(gss_inquire_cred_by_mech)
LL_GSS_STUB(gss_release_buffer)
LL_GSS_STUB(gss_release_cred)
LL_GSS_STUB(gss_release_name)
LL_GSS_STUB(gss_release_oid_set)
LL_GSS_STUB(gss_test_oid_set_member)
LL_GSS_STUB(gss_verify_mic)

/* OID constants libssh takes the address of; never dereferenced here. */
void *GSS_C_NT_HOSTBASED_SERVICE;
void *GSS_C_NT_USER_NAME;
