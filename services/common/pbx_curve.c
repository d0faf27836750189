/* CURVE key files and the ZAP handler thread that checks client keys
 * against allow-list directories. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "pbx_curve.h"
#include "pbx_log.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_MAX_DOMAINS 4

bool pbx_curve_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n >= PBX_CURVE_NAME || name[0] == '.')
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	size_t len = strlen(text);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		err = -EIO;
	if (close(fd) && !err)
		err = -errno;
	if (err)
		unlink(path);
	return err;
}

int pbx_curve_keygen(const char *dir, const char *name)
{
	char pub[PBX_CURVE_Z85], sec[PBX_CURVE_Z85], path[4096], line[64];
	int err;

	if (!dir || !pbx_curve_name_valid(name))
		return -EINVAL;
	if (zmq_curve_keypair(pub, sec))
		return -ENOTSUP; /* libzmq without CURVE */
	snprintf(line, sizeof(line), "%s\n", sec);
	snprintf(path, sizeof(path), "%s/%s.key", dir, name);
	err = write_file(path, line, 0600);
	memset(line, 0, sizeof(line));
	memset(sec, 0, sizeof(sec));
	if (err)
		return err;
	snprintf(line, sizeof(line), "%s\n", pub);
	snprintf(path, sizeof(path), "%s/%s.pub", dir, name);
	unlink(path); /* a stale .pub of a removed .key */
	err = write_file(path, line, 0644);
	if (err) {
		snprintf(path, sizeof(path), "%s/%s.key", dir, name);
		unlink(path);
	}
	return err;
}

/* Reads the first line of a small file as one Z85 key. */
static int read_z85(const char *file, char out[PBX_CURVE_Z85])
{
	char line[128];
	size_t n;
	FILE *f;

	if (!file || !file[0])
		return -EINVAL;
	f = fopen(file, "r");
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	n = strcspn(line, "\r\n \t");
	line[n] = '\0';
	if (n != PBX_CURVE_Z85 - 1) {
		memset(line, 0, sizeof(line));
		return -EINVAL;
	}
	memcpy(out, line, PBX_CURVE_Z85);
	memset(line, 0, sizeof(line));
	return 0;
}

int pbx_curve_load_secret(const char *file, struct pbx_curve_keypair *kp)
{
	uint8_t raw[32];
	int err = read_z85(file, kp->sec);

	if (err)
		return err;
	if (!zmq_z85_decode(raw, kp->sec) || zmq_curve_public(kp->pub, kp->sec)) {
		memset(kp, 0, sizeof(*kp));
		return -EINVAL;
	}
	memset(raw, 0, sizeof(raw));
	return 0;
}

int pbx_curve_load_public(const char *file, char pub[PBX_CURVE_Z85])
{
	uint8_t raw[32];
	int err = read_z85(file, pub);

	if (err)
		return err;
	return zmq_z85_decode(raw, pub) ? 0 : -EINVAL;
}

int pbx_curve_allowed(const char *dir, const unsigned char key[32],
		      char *name, size_t size)
{
	char want[PBX_CURVE_Z85], have[PBX_CURVE_Z85], path[4096];
	struct dirent *de;
	int err = -ENOENT;
	DIR *d;

	if (!dir || !dir[0] || !zmq_z85_encode(want, key, 32))
		return -EINVAL;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n <= 4 || strcmp(de->d_name + n - 4, ".pub"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (read_z85(path, have) || strcmp(have, want))
			continue;
		if (n - 4 >= size || n - 4 >= PBX_CURVE_NAME)
			continue;
		memcpy(name, de->d_name, n - 4);
		name[n - 4] = '\0';
		if (!pbx_curve_name_valid(name))
			continue;
		err = 0;
		break;
	}
	closedir(d);
	return err;
}

/* Owned by the thread that called pbx_zap_start(); the socket is used
 * only by the ZAP thread between start and stop. */
struct pbx_zap {
	void *sock;
	pthread_t thread;
	atomic_bool stop;
	size_t n;
	struct {
		char domain[64];
		char dir[4096];
		void *mon; /* PAIR on the server socket's monitor, or NULL */
		int max_peers;
		int peers; /* open TCP connections the monitor reported */
	} dom[ZAP_MAX_DOMAINS];
};

/* Reads every queued monitor event of domain i into its peer count. */
static void monitor_drain(struct pbx_zap *z, size_t i)
{
	for (;;) {
		zmq_msg_t ev, addr;
		uint16_t event;
		int more = 0;
		size_t sz = sizeof(more);

		zmq_msg_init(&ev);
		if (zmq_msg_recv(&ev, z->dom[i].mon, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&ev);
			return;
		}
		zmq_getsockopt(z->dom[i].mon, ZMQ_RCVMORE, &more, &sz);
		if (more) {
			zmq_msg_init(&addr);
			zmq_msg_recv(&addr, z->dom[i].mon, 0);
			zmq_msg_close(&addr);
		}
		if (zmq_msg_size(&ev) >= 2) {
			memcpy(&event, zmq_msg_data(&ev), sizeof(event));
			if (event == ZMQ_EVENT_ACCEPTED)
				z->dom[i].peers++;
			else if (event == ZMQ_EVENT_DISCONNECTED &&
				 z->dom[i].peers > 0)
				z->dom[i].peers--;
		}
		zmq_msg_close(&ev);
	}
}

/* Receives the frames of one request; returns how many (at most max). */
static int recv_frames(void *sock, zmq_msg_t *fr, int max)
{
	int n = 0, more = 1;
	size_t sz = sizeof(more);

	while (more) {
		zmq_msg_t tmp;

		zmq_msg_init(&tmp);
		if (zmq_msg_recv(&tmp, sock, 0) < 0) {
			zmq_msg_close(&tmp);
			return -1;
		}
		if (n < max)
			zmq_msg_move(&fr[n++], &tmp);
		zmq_msg_close(&tmp);
		zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz);
	}
	return n;
}

static bool frame_is(zmq_msg_t *m, const char *s)
{
	size_t n = strlen(s);

	return zmq_msg_size(m) == n && !memcmp(zmq_msg_data(m), s, n);
}

static void zap_answer(struct pbx_zap *z)
{
	zmq_msg_t fr[8];
	char user[PBX_CURVE_NAME] = "", domain[64] = "";
	const char *code = "400", *text = "key not allowed";
	int n;

	for (int i = 0; i < 8; i++)
		zmq_msg_init(&fr[i]);
	n = recv_frames(z->sock, fr, 8);
	if (n < 0)
		goto out;
	/* version, request id, domain, address, identity, mechanism,
	 * credentials... */
	if (n >= 7 && frame_is(&fr[0], "1.0") && frame_is(&fr[5], "CURVE") &&
	    zmq_msg_size(&fr[6]) == 32 && zmq_msg_size(&fr[2]) < sizeof(domain)) {
		memcpy(domain, zmq_msg_data(&fr[2]), zmq_msg_size(&fr[2]));
		for (size_t i = 0; i < z->n; i++) {
			if (strcmp(z->dom[i].domain, domain))
				continue;
			if (z->dom[i].mon) {
				/* ACCEPTED is queued before the handshake
				 * that asks us: the count includes this
				 * connection. */
				monitor_drain(z, i);
				if (z->dom[i].peers > z->dom[i].max_peers) {
					text = "too many clients";
					break;
				}
			}
			if (!pbx_curve_allowed(z->dom[i].dir,
					       zmq_msg_data(&fr[6]), user,
					       sizeof(user))) {
				code = "200";
				text = "OK";
			}
			break;
		}
	} else {
		text = "not a CURVE request";
	}
	if (code[0] != '2') {
		char addr[64] = "";
		size_t an = n >= 4 ? zmq_msg_size(&fr[3]) : 0;

		if (an < sizeof(addr))
			memcpy(addr, n >= 4 ? zmq_msg_data(&fr[3]) : "", an);
		PLOG_WARN("zap: refused a client from %s on domain '%s': %s",
			  addr[0] ? addr : "?", domain, text);
		user[0] = '\0';
	}
	/* Reply: version, request id, status, text, user id, metadata. */
	zmq_send(z->sock, "1.0", 3, ZMQ_SNDMORE);
	if (n >= 2)
		zmq_send(z->sock, zmq_msg_data(&fr[1]), zmq_msg_size(&fr[1]),
			 ZMQ_SNDMORE);
	else
		zmq_send(z->sock, "", 0, ZMQ_SNDMORE);
	zmq_send(z->sock, code, 3, ZMQ_SNDMORE);
	zmq_send(z->sock, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(z->sock, user, strlen(user), ZMQ_SNDMORE);
	zmq_send(z->sock, "", 0, 0);
out:
	for (int i = 0; i < 8; i++)
		zmq_msg_close(&fr[i]);
}

static void *zap_main(void *arg)
{
	struct pbx_zap *z = arg;

	while (!atomic_load(&z->stop)) {
		zmq_pollitem_t it = {.socket = z->sock, .events = ZMQ_POLLIN};
		int rc = zmq_poll(&it, 1, 100);

		if (rc < 0 && errno == ETERM)
			break;
		if (rc > 0)
			zap_answer(z);
		/* Keep the monitors' queues short between handshakes. */
		for (size_t i = 0; i < z->n; i++) {
			if (z->dom[i].mon)
				monitor_drain(z, i);
		}
	}
	return NULL;
}

static void zap_close(struct pbx_zap *z)
{
	for (size_t i = 0; i < z->n; i++) {
		if (z->dom[i].mon)
			zmq_close(z->dom[i].mon);
	}
	zmq_close(z->sock);
	free(z);
}

int pbx_zap_start(struct pbx_zap **zp, void *zctx,
		  const struct pbx_zap_domain *domains, size_t n)
{
	struct pbx_zap *z;
	int zero = 0;

	if (!zp || !zctx || !domains || n == 0 || n > ZAP_MAX_DOMAINS)
		return -EINVAL;
	z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!domains[i].domain || !domains[i].allow_dir ||
		    strlen(domains[i].domain) >= sizeof(z->dom[i].domain) ||
		    strlen(domains[i].allow_dir) >= sizeof(z->dom[i].dir)) {
			free(z);
			return -EINVAL;
		}
		strcpy(z->dom[i].domain, domains[i].domain);
		strcpy(z->dom[i].dir, domains[i].allow_dir);
		z->dom[i].max_peers = domains[i].max_peers;
	}
	z->n = n;
	z->sock = zmq_socket(zctx, ZMQ_REP);
	if (!z->sock) {
		free(z);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (!domains[i].monitor || !domains[i].monitor[0] ||
		    domains[i].max_peers <= 0)
			continue;
		/* inproc allows connecting before the monitor is bound. */
		z->dom[i].mon = zmq_socket(zctx, ZMQ_PAIR);
		if (!z->dom[i].mon ||
		    zmq_setsockopt(z->dom[i].mon, ZMQ_LINGER, &zero,
				   sizeof(zero)) ||
		    zmq_connect(z->dom[i].mon, domains[i].monitor)) {
			zap_close(z);
			return -EINVAL;
		}
	}
	zmq_setsockopt(z->sock, ZMQ_LINGER, &zero, sizeof(zero));
	if (zmq_bind(z->sock, ZAP_ENDPOINT)) {
		int err = -errno;

		zap_close(z);
		return err;
	}
	if (pthread_create(&z->thread, NULL, zap_main, z)) {
		zap_close(z);
		return -EAGAIN;
	}
	*zp = z;
	return 0;
}

void pbx_zap_stop(struct pbx_zap *z)
{
	if (!z)
		return;
	atomic_store(&z->stop, true);
	pthread_join(z->thread, NULL);
	zap_close(z);
}
