// SPDX-License-Identifier: GPL-2.0
/*
 * Prints the host's TSC frequency in kHz, measured over 200 ms. Under TCG, QEMU's guest TSC
 * runs at the host's TSC rate; run-dex-test.sh gives it to the guest (tsc_early_khz=) so that
 * the guest keeps a fine-grained clock even when its own calibration against the emulated PIT
 * fails on a loaded host (it then falls back to jiffies).
 */
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static double seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC_RAW, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(void)
{
	const struct timespec pause = { .tv_nsec = 200000000 };
	double t0 = seconds(), t1;
	unsigned long long c0 = __rdtsc(), c1;

	nanosleep(&pause, NULL);
	c1 = __rdtsc();
	t1 = seconds();
	printf("%.0f\n", (double)(c1 - c0) / (t1 - t0) / 1000);
	return 0;
}
