/* rtp_sink: test receiver for the e2e suite. Binds a UDP port, collects RTP
 * until `idle_ms` pass without a packet (after the first) or `max_s` pass,
 * and prints what arrived: packet count, source, payload type, and whether
 * sequence numbers and timestamps advanced by 1 and by 160 per packet.
 * With a 6th argument, the payload bytes of the audio packets (not
 * telephone-events) are written to that file as they came (raw G.711 of
 * the first packet's type), for sox to measure what was heard. SIGTERM
 * ends the collection early (the report and the file are still written):
 * a suite that knows the call is over need not wait for idle_ms. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET}, from;
	socklen_t fl = sizeof(from);
	unsigned long packets = 0, seq_bad = 0, ts_bad = 0, src_changes = 0;
	unsigned long bytes = 0;
	uint16_t last_seq = 0;
	uint32_t last_ts = 0, ssrc = 0;
	int pt = -1, fd, max_s, idle_ms;
	char src[64] = "-", cur[64];
	uint64_t start, last = 0;
	FILE *ready = NULL, *audio = NULL;

	if (argc < 5) {
		fprintf(stderr,
			"usage: rtp_sink <ip> <port> <max_s> <idle_ms> "
			"[readyfile] [audiofile]\n");
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
		return 2;
	max_s = atoi(argv[3]);
	idle_ms = atoi(argv[4]);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("rtp_sink: bind");
		return 1;
	}
	if (argc > 6 && !(audio = fopen(argv[6], "w"))) {
		perror("rtp_sink: audio file");
		return 1;
	}
	if (argc > 5 && (ready = fopen(argv[5], "w")))
		fclose(ready);

	signal(SIGTERM, on_term);
	start = now_ms();
	while (!stop) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint8_t buf[2048];
		uint64_t t = now_ms();
		int wait = 100;
		ssize_t n;

		if (t > start + (uint64_t)max_s * 1000)
			break;
		if (packets && t > last + (uint64_t)idle_ms)
			break;
		if (poll(&p, 1, wait) <= 0)
			continue;
		fl = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
			     &fl);
		if (n < 12 || (buf[0] >> 6) != 2)
			continue;
		last = now_ms();
		snprintf(cur, sizeof(cur), "%s:%u",
			 inet_ntoa(from.sin_addr), ntohs(from.sin_port));
		uint16_t seq = (uint16_t)(buf[2] << 8 | buf[3]);
		uint32_t ts = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 |
			      (uint32_t)buf[6] << 8 | buf[7];
		uint32_t ss = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 |
			      (uint32_t)buf[10] << 8 | buf[11];
		if (packets == 0) {
			snprintf(src, sizeof(src), "%s", cur);
			pt = buf[1] & 0x7f;
			ssrc = ss;
		} else {
			if (strcmp(src, cur))
				src_changes++;
			if ((uint16_t)(last_seq + 1) != seq)
				seq_bad++;
			if (ss == ssrc && last_ts + 160 != ts)
				ts_bad++;
		}
		last_seq = seq;
		last_ts = ts;
		bytes += (unsigned long)(n - 12);
		packets++;
		/* 12-byte header: our peers send no CSRC or extension. */
		if (audio && (buf[1] & 0x7f) == pt)
			fwrite(buf + 12, 1, (size_t)(n - 12), audio);
	}
	printf("packets=%lu bytes=%lu src=%s pt=%d seq_bad=%lu ts_bad=%lu "
	       "src_changes=%lu\n",
	       packets, bytes, src, pt, seq_bad, ts_bad, src_changes);
	if (audio)
		fclose(audio);
	close(fd);
	return 0;
}
