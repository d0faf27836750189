/* Durable media store: paths from ids, atomic commit (fsync, rename,
 * fsync the directory), bounded reads, the start-up sweep of temporary
 * files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pbx_keys.h"
#include "pbx_media_store.h"

#define TMP_PREFIX ".tmp."

/* Directory and file extension of each kind; kinds may share a
 * directory (a fax's TIFF and PDF). */
static const struct {
	const char *dir, *ext;
} kinds[PBX_MEDIA_KIND_COUNT] = {
	[PBX_MEDIA_VOICEMAIL] = {"vm", "wav"},
	[PBX_MEDIA_FAX] = {"fax", "tif"},
	[PBX_MEDIA_FAX_PDF] = {"fax", "pdf"},
	[PBX_MEDIA_RECORDING] = {"rec", "wav"},
};

bool pbx_media_id_valid(const char *id)
{
	size_t n;

	if (!id)
		return false;
	n = strlen(id);
	if (n == 0 || n >= PBX_MEDIA_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      c == '-'))
			return false;
	}
	return true;
}

int pbx_media_store_new_id(char *id, size_t size, uint64_t now_ms)
{
	uint64_t rnd = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, &rnd, sizeof(rnd)) : -1;
	int len;

	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)sizeof(rnd))
		return -EIO;
	len = snprintf(id, size, "%" PRIu64 "-%016" PRIx64, now_ms, rnd);
	return len < 0 || (size_t)len >= size ? -ENAMETOOLONG : 0;
}

/* The root must be absolute: a relative one would depend on the working
 * directory of whichever process asks. */
static bool root_valid(const char *root)
{
	return root && root[0] == '/';
}

/* A tenant id as a directory name: ids allow '.', so "." and ".." (and
 * hidden names, which the sweep's temporary files use) are refused. */
static bool tenant_dir_valid(const char *tenant)
{
	return pbx_tenant_valid(tenant) && tenant[0] != '.';
}

static int dir_path(char *buf, size_t size, const char *root,
		    const char *tenant, enum pbx_media_kind kind)
{
	int n;

	if (!root_valid(root) || !tenant_dir_valid(tenant) ||
	    (unsigned)kind >= PBX_MEDIA_KIND_COUNT)
		return -EINVAL;
	n = snprintf(buf, size, "%s/%s/%s", root, tenant, kinds[kind].dir);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int pbx_media_store_path(char *buf, size_t size, const char *root,
			 const char *tenant, enum pbx_media_kind kind,
			 const char *id)
{
	char dir[PBX_MEDIA_PATH_MAX];
	int n, err;

	if (!pbx_media_id_valid(id))
		return -EINVAL;
	err = dir_path(dir, sizeof(dir), root, tenant, kind);
	if (err)
		return err;
	n = snprintf(buf, size, "%s/%s.%s", dir, id, kinds[kind].ext);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int mkdir_one(const char *path)
{
	if (mkdir(path, 0750) && errno != EEXIST)
		return -errno;
	return 0;
}

int pbx_media_store_tmp(char *buf, size_t size, const char *root,
			const char *tenant, enum pbx_media_kind kind,
			const char *id, const char *owner)
{
	char dir[PBX_MEDIA_PATH_MAX];
	char *slash;
	int n, err;

	if (!pbx_media_id_valid(id) || !pbx_id_valid(owner))
		return -EINVAL;
	err = dir_path(dir, sizeof(dir), root, tenant, kind);
	if (err)
		return err;
	/* root, root/tenant, root/tenant/kind */
	slash = strrchr(dir, '/');
	*slash = '\0';
	err = mkdir_one(root);
	if (!err)
		err = mkdir_one(dir);
	*slash = '/';
	if (!err)
		err = mkdir_one(dir);
	if (err)
		return err;
	n = snprintf(buf, size, "%s/" TMP_PREFIX "%s.%s.%s", dir, owner, id,
		     kinds[kind].ext);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

static int fsync_dir_of(const char *path)
{
	char dir[PBX_MEDIA_PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return -EINVAL;
	*slash = '\0';
	return fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

int pbx_media_store_commit(const char *tmp, const char *root,
			   const char *tenant, enum pbx_media_kind kind,
			   const char *id)
{
	char path[PBX_MEDIA_PATH_MAX];
	int err;

	if (!tmp)
		return -EINVAL;
	err = pbx_media_store_path(path, sizeof(path), root, tenant, kind, id);
	/* The data first, then the name: after a crash the name never
	 * points at blocks that did not reach the disk. */
	if (!err)
		err = fsync_path(tmp, O_RDONLY);
	if (!err && rename(tmp, path))
		err = -errno;
	if (!err)
		err = fsync_dir_of(path);
	if (err)
		unlink(tmp);
	return err;
}

int pbx_media_store_remove(const char *root, const char *tenant,
			   enum pbx_media_kind kind, const char *id)
{
	char path[PBX_MEDIA_PATH_MAX];
	int err;

	err = pbx_media_store_path(path, sizeof(path), root, tenant, kind, id);
	if (err)
		return err;
	if (unlink(path))
		return -errno;
	return fsync_dir_of(path);
}

int pbx_media_store_remove_tenant(const char *root, const char *tenant)
{
	char dir[PBX_MEDIA_PATH_MAX];
	struct dirent *e;
	int removed = 0, err;

	for (int k = 0; k < PBX_MEDIA_KIND_COUNT; k++) {
		DIR *d;

		err = dir_path(dir, sizeof(dir), root, tenant, k);
		if (err)
			return err;
		d = opendir(dir);
		if (!d)
			continue;
		/* Only regular files: the store makes nothing else here. */
		while ((e = readdir(d))) {
			if (e->d_type == DT_REG &&
			    !unlinkat(dirfd(d), e->d_name, 0))
				removed++;
		}
		closedir(d);
		rmdir(dir);
	}
	*strrchr(dir, '/') = '\0'; /* <root>/<tenant> */
	rmdir(dir);
	return removed;
}

int pbx_media_store_read(const char *root, const char *tenant,
			 enum pbx_media_kind kind, const char *id,
			 uint8_t **bufp, size_t *lenp, size_t max)
{
	char path[PBX_MEDIA_PATH_MAX];
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd, err;

	if (!bufp || !lenp)
		return -EINVAL;
	err = pbx_media_store_path(path, sizeof(path), root, tenant, kind, id);
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EIO;
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != (size_t)st.st_size) {
		free(buf);
		return -EIO;
	}
	*bufp = buf;
	*lenp = got;
	return 0;
}

/* Is `name` a temporary file to remove: of `owner` (any when NULL), or
 * older than max_age_s? */
static bool sweep_match(int dfd, const char *name, const char *owner,
			unsigned max_age_s, time_t now)
{
	size_t pl = strlen(TMP_PREFIX);
	struct stat st;

	if (strncmp(name, TMP_PREFIX, pl))
		return false;
	if (!owner)
		return true;
	if (!strncmp(name + pl, owner, strlen(owner)) &&
	    name[pl + strlen(owner)] == '.')
		return true;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return false;
	return now - st.st_mtime > (time_t)max_age_s;
}

static int sweep_dir(const char *dir, const char *owner, unsigned max_age_s)
{
	DIR *d = opendir(dir);
	time_t now = time(NULL);
	struct dirent *e;
	int removed = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (!sweep_match(dirfd(d), e->d_name, owner, max_age_s, now))
			continue;
		if (!unlinkat(dirfd(d), e->d_name, 0))
			removed++;
	}
	if (removed)
		fsync(dirfd(d));
	closedir(d);
	return removed;
}

int pbx_media_store_sweep(const char *root, const char *owner,
			  unsigned max_age_s)
{
	char dir[PBX_MEDIA_PATH_MAX];
	struct dirent *e;
	int removed = 0;
	DIR *d;

	if (!root_valid(root) || (owner && !pbx_id_valid(owner)))
		return -EINVAL;
	d = opendir(root);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		if (!tenant_dir_valid(e->d_name))
			continue;
		for (int k = 0; k < PBX_MEDIA_KIND_COUNT; k++) {
			if (dir_path(dir, sizeof(dir), root, e->d_name, k))
				continue;
			removed += sweep_dir(dir, owner, max_age_s);
		}
	}
	closedir(d);
	return removed;
}
