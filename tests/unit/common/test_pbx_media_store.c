/* Tests for pbx_media_store.c on a real directory: paths are built from
 * ids only (no tenant, kind or id can leave its tenant's directory or the
 * root), a commit makes the whole file visible under its final name and
 * leaves no temporary file, reads are bounded, and the start-up sweep
 * removes a dead writer's temporary files but no finished file and no
 * other live writer's fresh temporary file. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pbx_media_store.h"
#include "pbx_test.h"

static char root[256];

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/pbx-ms-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_assert_eq(system(cmd), 0);
	pbx_test_fini();
}

TestSuite(pbx_media_store, .init = setup, .fini = teardown);

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

Test(pbx_media_store, path_is_root_tenant_kind_id)
{
	char p[PBX_MEDIA_PATH_MAX];

	cr_assert_eq(pbx_media_store_path(p, sizeof(p), "/m", "acme",
					  PBX_MEDIA_VOICEMAIL, "17-ab"),
		     0);
	cr_assert_str_eq(p, "/m/acme/vm/17-ab.wav");
	/* A fax's TIFF and PDF share its directory. */
	cr_assert_eq(pbx_media_store_path(p, sizeof(p), "/m", "acme",
					  PBX_MEDIA_FAX, "17-ab"),
		     0);
	cr_assert_str_eq(p, "/m/acme/fax/17-ab.tif");
	cr_assert_eq(pbx_media_store_path(p, sizeof(p), "/m", "acme",
					  PBX_MEDIA_FAX_PDF, "17-ab"),
		     0);
	cr_assert_str_eq(p, "/m/acme/fax/17-ab.pdf");
	cr_assert_eq(pbx_media_store_path(p, sizeof(p), "/m", "acme",
					  PBX_MEDIA_KIND_COUNT, "17-ab"),
		     -EINVAL);
}

Test(pbx_media_store, no_input_leaves_its_directory)
{
	static const char *const bad_tenants[] = {"..", ".", "a/b", "sys",
						  "", ".hidden"};
	static const char *const bad_ids[] = {"../x", "..", "a/b", "A",
					      "x.wav", "", "a b"};
	char p[PBX_MEDIA_PATH_MAX];

	for (size_t i = 0; i < sizeof(bad_tenants) / sizeof(*bad_tenants); i++)
		cr_assert_eq(pbx_media_store_path(p, sizeof(p), "/m",
						  bad_tenants[i],
						  PBX_MEDIA_VOICEMAIL, "1"),
			     -EINVAL, "tenant %s", bad_tenants[i]);
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(*bad_ids); i++)
		cr_assert_eq(pbx_media_store_path(p, sizeof(p), "/m", "acme",
						  PBX_MEDIA_VOICEMAIL,
						  bad_ids[i]),
			     -EINVAL, "id %s", bad_ids[i]);
	cr_assert_eq(pbx_media_store_path(p, sizeof(p), "rel", "acme",
					  PBX_MEDIA_VOICEMAIL, "1"),
		     -EINVAL);
	cr_assert_eq(pbx_media_store_path(p, sizeof(p), "/m", "acme",
					  PBX_MEDIA_KIND_COUNT, "1"),
		     -EINVAL);
	cr_assert_eq(pbx_media_store_path(p, 8, "/m", "acme",
					  PBX_MEDIA_VOICEMAIL, "1"),
		     -ENAMETOOLONG);
}

Test(pbx_media_store, new_ids_are_valid_and_differ)
{
	char a[PBX_MEDIA_ID_MAX], b[PBX_MEDIA_ID_MAX];

	cr_assert_eq(pbx_media_store_new_id(a, sizeof(a), 1700000000000), 0);
	cr_assert_eq(pbx_media_store_new_id(b, sizeof(b), 1700000000000), 0);
	cr_assert(pbx_media_id_valid(a), "%s", a);
	cr_assert_str_neq(a, b);
}

Test(pbx_media_store, commit_makes_the_file_visible_whole)
{
	char tmp[PBX_MEDIA_PATH_MAX], fin[PBX_MEDIA_PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;

	cr_assert_eq(pbx_media_store_tmp(tmp, sizeof(tmp), root, "acme",
					 PBX_MEDIA_VOICEMAIL, "1-a", "mw1"),
		     0);
	cr_assert(strstr(tmp, "/acme/vm/.tmp.mw1.1-a.wav"), "%s", tmp);
	write_file(tmp, "RIFF....WAVE");
	pbx_media_store_path(fin, sizeof(fin), root, "acme",
			     PBX_MEDIA_VOICEMAIL, "1-a");
	cr_assert_not(exists(fin));
	cr_assert_eq(pbx_media_store_commit(tmp, root, "acme",
					    PBX_MEDIA_VOICEMAIL, "1-a"),
		     0);
	cr_assert(exists(fin));
	cr_assert_not(exists(tmp));
	cr_assert_eq(pbx_media_store_read(root, "acme", PBX_MEDIA_VOICEMAIL,
					  "1-a", &buf, &len, 1024),
		     0);
	cr_assert_eq(len, 12);
	cr_assert_eq(memcmp(buf, "RIFF....WAVE", 12), 0);
	free(buf);
}

Test(pbx_media_store, read_is_bounded_and_tenant_scoped)
{
	char tmp[PBX_MEDIA_PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;

	pbx_media_store_tmp(tmp, sizeof(tmp), root, "acme",
			    PBX_MEDIA_VOICEMAIL, "2-b", "mw1");
	write_file(tmp, "0123456789");
	cr_assert_eq(pbx_media_store_commit(tmp, root, "acme",
					    PBX_MEDIA_VOICEMAIL, "2-b"),
		     0);
	cr_assert_eq(pbx_media_store_read(root, "acme", PBX_MEDIA_VOICEMAIL,
					  "2-b", &buf, &len, 9),
		     -EFBIG);
	/* Another tenant asking for the same id finds nothing. */
	cr_assert_eq(pbx_media_store_read(root, "other", PBX_MEDIA_VOICEMAIL,
					  "2-b", &buf, &len, 1024),
		     -ENOENT);
	cr_assert_eq(pbx_media_store_remove(root, "other",
					    PBX_MEDIA_VOICEMAIL, "2-b"),
		     -ENOENT);
	cr_assert_eq(pbx_media_store_remove(root, "acme", PBX_MEDIA_VOICEMAIL,
					    "2-b"),
		     0);
	cr_assert_eq(pbx_media_store_read(root, "acme", PBX_MEDIA_VOICEMAIL,
					  "2-b", &buf, &len, 1024),
		     -ENOENT);
}

Test(pbx_media_store, commit_of_a_missing_tmp_fails_cleanly)
{
	char tmp[PBX_MEDIA_PATH_MAX], fin[PBX_MEDIA_PATH_MAX];

	pbx_media_store_tmp(tmp, sizeof(tmp), root, "acme",
			    PBX_MEDIA_VOICEMAIL, "3-c", "mw1");
	cr_assert_eq(pbx_media_store_commit(tmp, root, "acme",
					    PBX_MEDIA_VOICEMAIL, "3-c"),
		     -ENOENT);
	pbx_media_store_path(fin, sizeof(fin), root, "acme",
			     PBX_MEDIA_VOICEMAIL, "3-c");
	cr_assert_not(exists(fin));
}

Test(pbx_media_store, sweep_removes_a_dead_writers_tmp_only)
{
	char mine[PBX_MEDIA_PATH_MAX], other[PBX_MEDIA_PATH_MAX],
		old[PBX_MEDIA_PATH_MAX], done[PBX_MEDIA_PATH_MAX],
		fin[PBX_MEDIA_PATH_MAX];
	struct timespec t[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};

	pbx_media_store_tmp(mine, sizeof(mine), root, "acme",
			    PBX_MEDIA_VOICEMAIL, "4-a", "mw1");
	pbx_media_store_tmp(other, sizeof(other), root, "beta",
			    PBX_MEDIA_VOICEMAIL, "4-b", "mw2");
	pbx_media_store_tmp(old, sizeof(old), root, "beta",
			    PBX_MEDIA_VOICEMAIL, "4-c", "mw3");
	pbx_media_store_tmp(done, sizeof(done), root, "acme",
			    PBX_MEDIA_VOICEMAIL, "4-d", "mw1");
	write_file(mine, "x");
	write_file(other, "x");
	write_file(old, "x");
	write_file(done, "x");
	cr_assert_eq(utimensat(AT_FDCWD, old, t, 0), 0);
	cr_assert_eq(pbx_media_store_commit(done, root, "acme",
					    PBX_MEDIA_VOICEMAIL, "4-d"),
		     0);

	cr_assert_eq(pbx_media_store_sweep(root, "mw1", 3600), 2);
	cr_assert_not(exists(mine));
	cr_assert_not(exists(old));
	cr_assert(exists(other), "a live writer's fresh file stays");
	pbx_media_store_path(fin, sizeof(fin), root, "acme",
			     PBX_MEDIA_VOICEMAIL, "4-d");
	cr_assert(exists(fin), "finished files are never swept");
	cr_assert_eq(pbx_media_store_sweep(root, NULL, 0), 1);
	cr_assert_not(exists(other));
}

Test(pbx_media_store, sweep_of_a_missing_root_is_nothing)
{
	cr_assert_eq(pbx_media_store_sweep("/nonexistent/pbx-media", "mw1", 1),
		     0);
	cr_assert_eq(pbx_media_store_sweep("relative", "mw1", 1), -EINVAL);
}

Test(pbx_media_store, remove_tenant_leaves_other_tenants)
{
	char tmp[PBX_MEDIA_PATH_MAX], dir[PBX_MEDIA_PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;

	pbx_media_store_tmp(tmp, sizeof(tmp), root, "acme",
			    PBX_MEDIA_VOICEMAIL, "5-a", "mw1");
	write_file(tmp, "a");
	pbx_media_store_commit(tmp, root, "acme", PBX_MEDIA_VOICEMAIL, "5-a");
	pbx_media_store_tmp(tmp, sizeof(tmp), root, "acme",
			    PBX_MEDIA_VOICEMAIL, "5-b", "mw1");
	write_file(tmp, "b"); /* unfinished */
	pbx_media_store_tmp(tmp, sizeof(tmp), root, "beta",
			    PBX_MEDIA_VOICEMAIL, "5-a", "mw1");
	write_file(tmp, "c");
	pbx_media_store_commit(tmp, root, "beta", PBX_MEDIA_VOICEMAIL, "5-a");

	cr_assert_eq(pbx_media_store_remove_tenant(root, "acme"), 2);
	snprintf(dir, sizeof(dir), "%s/acme", root);
	cr_assert_not(exists(dir));
	cr_assert_eq(pbx_media_store_read(root, "beta", PBX_MEDIA_VOICEMAIL,
					  "5-a", &buf, &len, 16),
		     0);
	free(buf);
	cr_assert_eq(pbx_media_store_remove_tenant(root, "acme"), 0);
	cr_assert_eq(pbx_media_store_remove_tenant(root, ".."), -EINVAL);
}
