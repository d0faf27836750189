/* tmr_bench: what one answered call costs libre's timers at a given
 * setup rate, on libre's own sorted list (tmr_bench_list) and on the
 * media worker's wheel (tmr_bench_wheel, the same source linked with
 * services/media-worker/tmr_wheel.c), side by side (issue 17).
 *
 * For a rate R it builds the steady state a worker reaches after 32 s of
 * answered calls: R x 32 timers of about 32 s (the INVITE server
 * transactions libre keeps after each 2xx), spread over the 32 s as they
 * would be; with --udp twice that (each BYE's Timer J). Then, per call:
 * one more 32 s timer (this call's transaction), the 2xx reply's 32 s
 * timer and its 500 ms retransmission timer, both cancelled when the ACK
 * comes, as libre's sipsess does; and the oldest transaction's timer goes,
 * so the count stays. Each long timer sits in its own 384-byte block (a
 * transaction with its message), the blocks in random order of memory
 * against their order of expiry, as a worker's heap leaves them: a walk
 * of libre's list misses the cache at every entry, as it does in the
 * worker. It prints the thread CPU time per call. Pure CPU on one thread:
 * on a shared machine it is far less noisy than a calls/s ramp through
 * the whole stack.
 *
 *   tmr_bench_list  [--udp] [rates...]   (default 250 500 1000 2000)
 *   tmr_bench_wheel [--udp] [rates...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <re.h>

enum { CALLS = 5000, HOLD_MS = 32000, BLOCK = 384 };

static void never(void *arg)
{
	(void)arg;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* µs of CPU per answered call with `live` long timers standing. */
static double per_call(size_t live)
{
	struct tmr **longs = calloc(live, sizeof(*longs));
	struct tmr reply, retrans;
	double t0, t1;
	size_t oldest = 0;

	if (!longs) {
		perror("calloc");
		exit(1);
	}
	for (size_t i = 0; i < live; i++) {
		longs[i] = calloc(1, BLOCK);
		if (!longs[i]) {
			perror("calloc");
			exit(1);
		}
	}
	/* Expiry order unrelated to memory order (Fisher-Yates). */
	srand(17);
	for (size_t i = live - 1; i > 0; i--) {
		size_t j = (size_t)rand() % (i + 1);
		struct tmr *t = longs[i];

		longs[i] = longs[j];
		longs[j] = t;
	}
	tmr_init(&reply);
	tmr_init(&retrans);
	/* Spread over the hold time, the oldest first, as calls set up at
	 * a steady rate leave them. */
	for (size_t i = 0; i < live; i++)
		tmr_start(longs[i], HOLD_MS * (i + 1) / live, never, NULL);
	t0 = cpu_s();
	for (int c = 0; c < CALLS; c++) {
		/* The oldest transaction expires; this call's starts. */
		tmr_start(longs[oldest], HOLD_MS, never, NULL);
		oldest = (oldest + 1) % live;
		/* 200 OK: reply timer (64 x T1) and retransmission (T1). */
		tmr_start(&reply, HOLD_MS, never, NULL);
		tmr_start(&retrans, 500, never, NULL);
		/* ACK */
		tmr_cancel(&retrans);
		tmr_cancel(&reply);
	}
	t1 = cpu_s();
	for (size_t i = 0; i < live; i++) {
		tmr_cancel(longs[i]);
		free(longs[i]);
	}
	free(longs);
	return (t1 - t0) * 1e6 / CALLS;
}

int main(int argc, char **argv)
{
	static const unsigned defaults[] = {250, 500, 1000, 2000};
	unsigned per_call_long = 1;
	int first = 1;

	if (argc > 1 && !strcmp(argv[1], "--udp")) {
		per_call_long = 2;
		first = 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0); /* rows as they come */
	if (libre_init()) {
		fputs("libre_init failed\n", stderr);
		return 1;
	}
	printf("| calls/s | 32 s timers standing | CPU per call |\n");
	printf("|---:|---:|---:|\n");
	for (int i = first; i < argc || (argc <= first && i - first < 4);
	     i++) {
		unsigned rate = argc > first ? (unsigned)atoi(argv[i])
					     : defaults[i - first];
		size_t live = (size_t)rate * 32 * per_call_long;

		if (!rate)
			break;
		printf("| %u | %zu | %.2f µs |\n", rate, live,
		       per_call(live));
	}
	libre_close();
	return 0;
}
