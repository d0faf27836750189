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
#include <time.h>
#include <unistd.h>

#include "fax_pdf.h"
#include "fax_recv.h"
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
	if (!gmtime_r(&t, &tm) ||
	    !strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm))
		when[0] = '\0';
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

/* The fax's hash, then its id in the box (as voicemail: a crash in
 * between leaves an unlisted hash, never a listed id without one). */
static int store_meta(struct worker *w, struct worker_call *wc,
		      const struct fax_recv_result *res, const char *files,
		      uint32_t ms, const char *why)
{
	const char *tenant = mwcall_tenant(wc->call);
	char mkey[PBX_KEY_MAX], bkey[PBX_KEY_MAX], resol[32];
	int err;

	snprintf(resol, sizeof(resol), "%ux%u", res->x_dpi, res->y_dpi);
	err = pbx_key_sub_of(mkey, sizeof(mkey), tenant, PBX_K_FAX_MSG,
			     wc->fax_id);
	if (!err)
		err = pbx_key_sub_of(bkey, sizeof(bkey), tenant,
				     PBX_K_FAX_BOX, wc->fax_box);
	if (!err)
		err = prompt_store_write(
			w->store,
			"HSET %s box %s caller %s called %s time_ms %llu "
			"duration_ms %u remote_id %s pages %u resolution %s "
			"width %u bit_rate %u ecm %d transport %s "
			"result %d result_text %s ended %s bad_rows %u "
			"files %s status new call_id %s",
			mkey, wc->fax_box, mwcall_caller(wc->call),
			mwcall_dialed(wc->call),
			(unsigned long long)wc->fax_start_ms, ms,
			res->remote_id, res->pages, resol, res->width,
			res->bit_rate, res->ecm ? 1 : 0,
			res->t38 ? "t38" : "audio", res->code,
			res->text ? res->text : "", why, res->bad_rows, files,
			mwcall_callid(wc->call));
	if (!err)
		err = prompt_store_write(w->store, "ZADD %s %llu %s", bkey,
					 (unsigned long long)wc->fax_start_ms,
					 wc->fax_id);
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
		  "late %llu, reordered %llu), dropped %llu samples; udptl "
		  "sent %llu, taken %llu, recovered %llu, lost %llu, bad %llu",
		  wc->fax_id, (unsigned long long)st.fed,
		  (unsigned long long)st.filled, (unsigned long long)st.lost,
		  (unsigned long long)st.late,
		  (unsigned long long)st.reordered,
		  (unsigned long long)st.dropped,
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
