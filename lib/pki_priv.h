/*
 * lib/pki_priv.h - what lib/pki.c and lib/pki_issue.c share; not for use
 * outside lib/pki*.c.
 */
#ifndef K1S_LIB_PKI_PRIV_H
#define K1S_LIB_PKI_PRIV_H

#include <stddef.h>
#include <mbedtls/ctr_drbg.h>

#include "pki.h"
#include "util.h"

/* mbedtls' text for an mbedtls error code, in a static buffer. */
const char *pki__strerror(int code);
/* The process' DRBG, (re)seeded on first use and after fork(); NULL when
 * the entropy source fails. */
mbedtls_ctr_drbg_context *pki__rng(void);
/* Parses an IPv4 or IPv6 address into out: 4 or 16, or 0 if s is not one. */
size_t pki__ip_parse(const char *s, unsigned char out[16]);

#endif
