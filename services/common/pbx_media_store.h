/* Durable media store: the files of voicemail messages and faxes (later
 * recorded calls; later uploaded prompts) under one root, one directory per tenant
 * and kind: <root>/<tenant>/<kind dir>/<id>.<kind ext> (vm/<id>.wav,
 * fax/<id>.tif, fax/<id>.pdf, rec/<id>.wav). Every path is built here from
 * ids only (a tenant id, a fixed kind, a message id of [0-9a-z-]), never
 * from a name a client sent, so no request can reach another tenant's
 * file or anything outside the root.
 *
 * A file becomes visible only whole: it is written to a temporary file
 * in the final directory (".tmp.<owner>.<id>.<ext>"), then
 * pbx_media_store_commit() fsyncs it, renames it and fsyncs the
 * directory. Only after that may a caller reference the id in Redis, so
 * Redis never names a missing or truncated file. A writer that dies
 * leaves its temporary file, which pbx_media_store_sweep() removes at
 * the next start. Plain POSIX calls, no state: safe in any process. */
#ifndef PBX_MEDIA_STORE_H
#define PBX_MEDIA_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PBX_MEDIA_PATH_MAX 1024
#define PBX_MEDIA_ID_MAX 48

enum pbx_media_kind {
	PBX_MEDIA_VOICEMAIL, /* "vm/<id>.wav" */
	PBX_MEDIA_FAX,	     /* "fax/<id>.tif": the pages as received */
	PBX_MEDIA_FAX_PDF,   /* "fax/<id>.pdf": the same pages as PDF */
	PBX_MEDIA_RECORDING, /* "rec/<id>.wav": a recorded bridged call */
	PBX_MEDIA_KIND_COUNT
};

/* A message id: 1..47 of [0-9a-z-] (what pbx_media_store_new_id makes). */
bool pbx_media_id_valid(const char *id);

/* A fresh id, unique across workers and restarts: "<unix ms>-<16 hex of
 * urandom>". 0 or -EIO. */
int pbx_media_store_new_id(char *id, size_t size, uint64_t now_ms);

/* The final path of (tenant, kind, id); 0, -EINVAL (bad root, tenant,
 * kind or id), -ENAMETOOLONG. */
int pbx_media_store_path(char *buf, size_t size, const char *root,
			 const char *tenant, enum pbx_media_kind kind,
			 const char *id);

/* Creates <root>/<tenant>/<kind>/ (mode 0750) if needed and writes the
 * temporary path of a new file of `owner` (an id: the worker's) into
 * buf. 0, -EINVAL, -ENAMETOOLONG, or the negative errno of mkdir. */
int pbx_media_store_tmp(char *buf, size_t size, const char *root,
			const char *tenant, enum pbx_media_kind kind,
			const char *id, const char *owner);

/* Makes the closed temporary file `tmp` the final file of (tenant, kind,
 * id): fsync(file), rename, fsync(directory). On error the temporary
 * file is removed. 0 or a negative errno. */
int pbx_media_store_commit(const char *tmp, const char *root,
			   const char *tenant, enum pbx_media_kind kind,
			   const char *id);

/* Removes a final file and fsyncs its directory. 0, -ENOENT, or another
 * negative errno. */
int pbx_media_store_remove(const char *root, const char *tenant,
			   enum pbx_media_kind kind, const char *id);

/* Removes every file of `tenant` (final and temporary) and its
 * directories: a deleted tenant leaves nothing in the store. Run after its
 * Redis references are gone. Returns the number of files removed, or a
 * negative errno (-EINVAL bad input; a missing directory is 0). */
int pbx_media_store_remove_tenant(const char *root, const char *tenant);

/* Reads a final file whole into *bufp (malloc'd, the caller frees) if it
 * is at most max bytes. 0, -ENOENT, -EFBIG, -ENOMEM, -EIO, -EINVAL. */
int pbx_media_store_read(const char *root, const char *tenant,
			 enum pbx_media_kind kind, const char *id,
			 uint8_t **bufp, size_t *lenp, size_t max);

/* Start-up sweep over every tenant directory: removes the temporary files
 * of `owner` (NULL: of every owner), and any temporary file older than
 * max_age_s whoever wrote it (a writer that never came back). Returns the
 * number removed, or a negative errno if the root cannot be read (a
 * missing root is 0). */
int pbx_media_store_sweep(const char *root, const char *owner,
			  unsigned max_age_s);

#endif
