/* Fax in the worker: a FaxReceive command becomes a receiver writing its
 * TIFF into the media store's temporary file; when the fax ends (whatever
 * its result) the pages received are committed (and converted to PDF when
 * the box asks), and only then is the fax referenced in Redis (hash
 * pbx:{<tenant>}:fax:msg:<id>, then its id in the box's sorted set
 * pbx:{<tenant>}:fax:box:<box>), so Redis never names a missing file. A
 * failed fax is listed too, with its T.30 result and no file. Once listed,
 * a notification job (kind fax) goes to the notifier: e-mail with the
 * pages, the tenant's webhook. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fax_pdf.h"
#include "fax_recv.h"
#include "fax_tiff_header.h"
#include "pbx_clock.h"
#include "pbx_log.h"
#include "pbx_notify.h"
#include "prompt_store.h"
#include "worker_priv.h"

/* The box's ident goes into T.30 frames, its header into the PDF's
 * built-in font: printable ASCII only, at most max. */
static bool text_valid(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

/* The box's quotas (FaxReceive max_faxes / max_bytes): true when it is
 * full. A quota that cannot be read lets the fax in (a lost fax is worse
 * than a box a little over its limit; logged), as for voicemail. */
static bool box_full(struct worker *w, const char *tenant,
		     const Pbx__V1__MediaCommand__FaxReceive *fr)
{
	char bkey[PBX_KEY_MAX], ukey[PBX_KEY_MAX];
	long long n = 0, used = 0;
	int err;

	if (!fr->max_faxes && !fr->max_bytes)
		return false;
	if (pbx_key_sub_of(bkey, sizeof(bkey), tenant, PBX_K_FAX_BOX,
			   fr->box) ||
	    pbx_key_sub_of(ukey, sizeof(ukey), tenant, PBX_K_FAX_BYTES,
			   fr->box))
		return false;
	err = fr->max_faxes ? worker_store_int(w, &n, "ZCARD %s", bkey) : 0;
	if (!err && fr->max_bytes)
		err = worker_store_int(w, &used, "GET %s", ukey);
	if (err) {
		PLOG_WARN("fax: quota of box %s not readable (%s): taken",
			  fr->box, strerror(-err));
		return false;
	}
	if (fr->max_faxes && n >= (long long)fr->max_faxes) {
		PLOG_INFO("fax: box %s holds %lld of %u faxes: full", fr->box,
			  n, fr->max_faxes);
		return true;
	}
	if (fr->max_bytes && used >= (long long)fr->max_bytes) {
		PLOG_INFO("fax: box %s stores %lld of %llu bytes: full",
			  fr->box, used, (unsigned long long)fr->max_bytes);
		return true;
	}
	return false;
}

/* A full box: no T.30 at all. FAX_DONE says so (result -1, no id); the
 * call then ends (BYE, ENDED "fax: box full, refused"), or, with
 * keep_call, stays for the node's "failed". */
static void refuse_full(struct worker *w, struct worker_call *wc,
			const Pbx__V1__MediaCommand__FaxReceive *fr,
			uint64_t seq)
{
	struct worker_event we = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_FAX_DONE,
		.tenant = mwcall_tenant(wc->call),
		.callid = mwcall_callid(wc->call),
		.reply_to = wc->fax_msgid,
		.seq = seq,
		.detail = "box full",
		.fax_id = "",
		.fax_result = WORKER_FAX_REFUSED,
		.fax_continues = fr->keep_call,
	};
	struct worker_event ended = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_ENDED,
		.tenant = we.tenant,
		.callid = we.callid,
		.seq = seq,
		.detail = "fax: box full, refused",
	};

	worker_event_send(w, wc->home, &we);
	if (fr->keep_call)
		return;
	PLOG_INFO("fax: box %s full: BYE", fr->box);
	worker_event_send(w, wc->home, &ended);
	worker_call_end(w, wc); /* answered already by the walk: BYE */
}

int worker_fax_start(struct worker *w, struct worker_call *wc,
		     const Pbx__V1__MediaCommand__FaxReceive *fr, uint64_t seq,
		     const char **why)
{
	const struct mw_config *cfg = w->cfg;
	const char *tenant = mwcall_tenant(wc->call);
	struct fax_recv_opts o = {.ecm = fr->ecm, .ident = fr->ident};
	struct fax_recv *rx = NULL;
	int err;

	*why = NULL;
	if (!pbx_id_valid(fr->box)) {
		*why = "invalid fax box";
		return -EINVAL;
	}
	if (!text_valid(fr->ident, FAX_RECV_IDENT_MAX)) {
		*why = "fax ident must be at most 20 printable characters";
		return -EINVAL;
	}
	if (!text_valid(fr->header, sizeof(wc->fax_header) - 4)) {
		*why = "fax header must be at most 60 printable characters";
		return -EINVAL;
	}
	if (wc->fax_id[0]) {
		*why = "a fax is already being received";
		return -EBUSY;
	}
	if (box_full(w, tenant, fr)) {
		refuse_full(w, wc, fr, seq);
		return 0;
	}
	err = pbx_media_store_new_id(wc->fax_id, sizeof(wc->fax_id),
				     pbx_clock_now_ms());
	if (!err)
		err = pbx_media_store_tmp(wc->fax_tmp, sizeof(wc->fax_tmp),
					  cfg->media_root, tenant,
					  PBX_MEDIA_FAX, wc->fax_id,
					  cfg->worker_id);
	if (err) {
		PLOG_ERR("fax: cannot open a fax in %s: %s", cfg->media_root,
			 strerror(-err));
		*why = "media store unavailable";
		goto fail;
	}
	o.tiff_path = wc->fax_tmp;
	err = fax_recv_alloc(&rx, &o);
	if (!err)
		err = mwcall_fax(wc->call, rx, seq);
	if (err) {
		fax_recv_free(rx);
		*why = "fax could not start";
		goto fail;
	}
	mwcall_fax_t38_offer(wc->call, fr->t38);
	mwcall_fax_keep(wc->call, fr->keep_call);
	snprintf(wc->fax_box, sizeof(wc->fax_box), "%s", fr->box);
	snprintf(wc->fax_header, sizeof(wc->fax_header), "%s",
		 fr->header ? fr->header : "");
	wc->fax_pdf = fr->pdf;
	wc->fax_t38 = fr->t38;
	wc->fax_start_ms = pbx_clock_now_ms();
	PLOG_INFO("fax: box %s, fax %s (ecm %s, %s, t38 %s)", fr->box,
		  wc->fax_id, fr->ecm ? "on" : "off", fr->pdf ? "pdf" : "tiff",
		  fr->t38 ? "offered after CNG" : "if the sender offers it");
	return 0;
fail:
	wc->fax_id[0] = '\0';
	wc->fax_tmp[0] = '\0';
	return err;
}

/* The header line burned into the temporary TIFF's pages: written beside
 * it, then renamed over it (the same directory; the media store's clean-up
 * at start removes either temporary file). On failure the pages stay as
 * received: the fax is worth more than its header. */
static void tiff_header(struct worker_call *wc,
			const struct fax_pdf_header *hdr)
{
	char out[PBX_MEDIA_PATH_MAX + 8];
	int n;

	snprintf(out, sizeof(out), "%s.hdr", wc->fax_tmp);
	n = fax_tiff_header(wc->fax_tmp, out, hdr, NULL);
	if (n > 0 && !rename(out, wc->fax_tmp))
		return;
	PLOG_WARN("fax %s: no header on the TIFF pages: %s (kept as "
		  "received)",
		  wc->fax_id, n < 0 ? strerror(-n) : strerror(errno));
	unlink(out);
}

/* Commits the TIFF when it holds a page; with pdf, converts it (with the
 * box's header line) and commits the PDF. Returns the files stored: "",
 * "tif", "tif,pdf". */
static const char *store_files(struct worker *w, struct worker_call *wc,
			       const struct fax_recv_result *res)
{
	unsigned pages = res->pages;
	char when[32];
	time_t t = (time_t)(wc->fax_start_ms / 1000);
	struct tm tm;
	struct fax_pdf_header hdr = {
		.text = wc->fax_header,
		.when = when,
		.from = res->remote_id[0] ? res->remote_id
					  : mwcall_caller(wc->call)};
	const char *root = w->cfg->media_root;
	const char *tenant = mwcall_tenant(wc->call);
	char tif[PBX_MEDIA_PATH_MAX], pdf_tmp[PBX_MEDIA_PATH_MAX];
	int err, n;

	if (!pages || access(wc->fax_tmp, F_OK)) {
		unlink(wc->fax_tmp); /* a TIFF without a whole page */
		return "";
	}
	if (!gmtime_r(&t, &tm) ||
	    !strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm))
		when[0] = '\0';
	/* A tiff box's pages get the header line themselves (a pdf box's
	 * PDF draws it; its TIFF stays as received). */
	if (!wc->fax_pdf && wc->fax_header[0])
		tiff_header(wc, &hdr);
	err = pbx_media_store_commit(wc->fax_tmp, root, tenant, PBX_MEDIA_FAX,
				     wc->fax_id);
	if (err) {
		PLOG_ERR("fax %s: pages not stored: %s", wc->fax_id,
			 strerror(-err));
		return "";
	}
	if (!wc->fax_pdf)
		return "tif";
	err = pbx_media_store_path(tif, sizeof(tif), root, tenant,
				   PBX_MEDIA_FAX, wc->fax_id);
	if (!err)
		err = pbx_media_store_tmp(pdf_tmp, sizeof(pdf_tmp), root,
					  tenant, PBX_MEDIA_FAX_PDF,
					  wc->fax_id, w->cfg->worker_id);
	n = err ? err : fax_pdf_write(tif, pdf_tmp, &hdr);
	if (n < 0) {
		/* The TIFF holds the pages: the fax is not lost. */
		PLOG_ERR("fax %s: no PDF: %s (the TIFF is kept)", wc->fax_id,
			 strerror(-n));
		unlink(pdf_tmp);
		return "tif";
	}
	err = pbx_media_store_commit(pdf_tmp, root, tenant, PBX_MEDIA_FAX_PDF,
				     wc->fax_id);
	if (err) {
		PLOG_ERR("fax %s: PDF not stored: %s", wc->fax_id,
			 strerror(-err));
		return "tif";
	}
	return "tif,pdf";
}

/* Bytes of the fax's stored files (its box's max_bytes quota). */
static long long files_bytes(struct worker *w, struct worker_call *wc)
{
	static const enum pbx_media_kind kinds[] = {PBX_MEDIA_FAX,
						    PBX_MEDIA_FAX_PDF};
	char path[PBX_MEDIA_PATH_MAX];
	long long n = 0;
	struct stat st;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!pbx_media_store_path(path, sizeof(path),
					  w->cfg->media_root,
					  mwcall_tenant(wc->call), kinds[i],
					  wc->fax_id) &&
		    !stat(path, &st))
			n += st.st_size;
	return n;
}

/* The fax's hash, then its id in the box (as voicemail: a crash in
 * between leaves an unlisted hash, never a listed id without one), then
 * its bytes on the box's counter (provision subtracts them on delete). */
static int store_meta(struct worker *w, struct worker_call *wc,
		      const struct fax_recv_result *res, const char *files,
		      uint32_t ms, const char *why)
{
	const char *tenant = mwcall_tenant(wc->call);
	char mkey[PBX_KEY_MAX], bkey[PBX_KEY_MAX], ukey[PBX_KEY_MAX];
	char resol[32];
	long long bytes = files[0] ? files_bytes(w, wc) : 0;
	int err;

	snprintf(resol, sizeof(resol), "%ux%u", res->x_dpi, res->y_dpi);
	err = pbx_key_sub_of(mkey, sizeof(mkey), tenant, PBX_K_FAX_MSG,
			     wc->fax_id);
	if (!err)
		err = pbx_key_sub_of(bkey, sizeof(bkey), tenant,
				     PBX_K_FAX_BOX, wc->fax_box);
	if (!err)
		err = pbx_key_sub_of(ukey, sizeof(ukey), tenant,
				     PBX_K_FAX_BYTES, wc->fax_box);
	if (!err)
		err = prompt_store_write(
			w->store,
			"HSET %s box %s caller %s called %s time_ms %llu "
			"duration_ms %u remote_id %s pages %u resolution %s "
			"width %u bit_rate %u ecm %d transport %s "
			"result %d result_text %s ended %s bad_rows %u "
			"files %s status new call_id %s bytes %lld",
			mkey, wc->fax_box, mwcall_caller(wc->call),
			mwcall_dialed(wc->call),
			(unsigned long long)wc->fax_start_ms, ms,
			res->remote_id, res->pages, resol, res->width,
			res->bit_rate, res->ecm ? 1 : 0,
			res->t38 ? "t38" : "audio", res->code,
			res->text ? res->text : "", why, res->bad_rows, files,
			mwcall_callid(wc->call), bytes);
	if (!err)
		err = prompt_store_write(w->store, "ZADD %s %llu %s", bkey,
					 (unsigned long long)wc->fax_start_ms,
					 wc->fax_id);
	/* Listed already: a count that fails only loosens the quota. */
	if (!err && bytes &&
	    prompt_store_write(w->store, "INCRBY %s %lld", ukey, bytes))
		PLOG_WARN("fax %s: %lld bytes not counted in box %s",
			  wc->fax_id, bytes, wc->fax_box);
	return err;
}

void worker_fax_save(struct worker *w, struct worker_call *wc,
		     const char *why, uint64_t seq)
{
	struct fax_recv *rx = mwcall_fax_take(wc->call);
	struct fax_recv_result res;
	struct fax_recv_stats st;
	struct worker_event we = {
		.kind = PBX__V1__MEDIA_EVENT__KIND__KIND_FAX_DONE,
		.tenant = mwcall_tenant(wc->call),
		.callid = mwcall_callid(wc->call),
		.reply_to = wc->fax_msgid,
	};
	uint32_t ms = mwcall_fax_ms(wc->call);
	const char *files;
	int err;

	if (!rx)
		return;
	fax_recv_result(rx, &res);
	fax_recv_stats(rx, &st);
	/* What the network did to it: loss and late audio (a stalled
	 * sender or loop) on audio, recovery on T.38. */
	PLOG_INFO("fax %s: audio fed %llu, filled %llu (lost packets %llu, "
		  "late %llu, reordered %llu), dropped %llu samples, repeated "
		  "DCS %u, PPS %u; udptl sent %llu, taken %llu, recovered "
		  "%llu, lost %llu, bad %llu",
		  wc->fax_id, (unsigned long long)st.fed,
		  (unsigned long long)st.filled, (unsigned long long)st.lost,
		  (unsigned long long)st.late,
		  (unsigned long long)st.reordered,
		  (unsigned long long)st.dropped, st.dcs_again, st.pps_again,
		  (unsigned long long)st.t38_sent,
		  (unsigned long long)st.t38_rx,
		  (unsigned long long)st.t38_recovered,
		  (unsigned long long)st.t38_lost,
		  (unsigned long long)st.t38_bad);
	if (!res.text)
		res.text = "";
	fax_recv_free(rx); /* closes the TIFF: spandsp wrote every page */
	files = store_files(w, wc, &res);
	err = store_meta(w, wc, &res, files, ms, why);
	if (err)
		PLOG_ERR("fax %s (%s) not listed (redis: %s)", wc->fax_id,
			 files[0] ? files : "no page kept", strerror(-err));
	else
		PLOG_INFO("fax %s in box %s: %s (%d), %u pages, %u bit/s, "
			  "ecm %s, from '%s', %u ms (%s)",
			  wc->fax_id, wc->fax_box, res.text, res.code,
			  res.pages, res.bit_rate, res.ecm ? "on" : "off",
			  res.remote_id, ms, why);
	if (!err)
		worker_notify(w, PBX_NOTIFY_KIND_FAX, mwcall_tenant(wc->call),
			      wc->fax_box, wc->fax_id);
	snprintf(wc->vm_result, sizeof(wc->vm_result), "fax: %s %s",
		 res.code == 0 ? "received" : "failed", wc->fax_id);
	we.seq = seq;
	we.detail = res.text;
	/* The id names what is kept: files on disk, or a listed record. */
	we.fax_id = files[0] || !err ? wc->fax_id : "";
	we.fax_result = res.code;
	we.fax_pages = res.pages;
	we.fax_continues = mwcall_fax_continues(wc->call);
	worker_event_send(w, wc->home, &we);
}
