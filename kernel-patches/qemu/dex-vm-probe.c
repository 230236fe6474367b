// SPDX-License-Identifier: GPL-2.0
/*
 * Guest helper of run-dex-test.sh, linked statically into the initramfs (busybox has no
 * UDP tools):
 *   send DST PORT COUNT HOPLIMIT [SRCPORT]
 *                                  COUNT UDP datagrams from one socket (one flow)
 *   flows DST PORT SRCPORT COUNT   one datagram from each of COUNT source ports (COUNT flows)
 *   recv PORT COUNT SECONDS        receives datagrams and reports, for each, whether it
 *                                  still carried a Hop-by-Hop header, the Flow ID and
 *                                  Sequence Number of an IOAM DEX option in it, its hop limit
 * Output lines are "key=value" words, parsed by dex-vm-init.sh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "dex-vm-probe: %s: %s\n", what, strerror(errno));
	return 1;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int bound_socket(int port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = in6addr_any };
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);

	a.sin6_port = htons(port);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	return fd;
}

/* Waits for a datagram until the deadline; 0 on timeout. */
static int wait_readable(int fd, long deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	long left = deadline - now_ms();

	if (left <= 0)
		return 0;
	return poll(&p, 1, (int)left);
}

/* A UDP socket bound to @srcport (0: any) and the destination address. */
static int sender(const char *dst, int port, int srcport, struct sockaddr_in6 *a)
{
	int fd = srcport ? bound_socket(srcport) : socket(AF_INET6, SOCK_DGRAM, 0);

	memset(a, 0, sizeof(*a));
	a->sin6_family = AF_INET6;
	a->sin6_port = htons(port);
	if (fd < 0 || inet_pton(AF_INET6, dst, &a->sin6_addr) != 1)
		return -1;
	return fd;
}

static int cmd_flows(const char *dst, int port, int srcport, int count)
{
	struct sockaddr_in6 a;

	for (int i = 0; i < count; i++) {
		int fd = sender(dst, port, srcport + i, &a);

		if (fd < 0 || sendto(fd, "flow", 4, 0, (struct sockaddr *)&a, sizeof(a)) != 4)
			return die("flows: socket or sendto");
		close(fd);
	}
	printf("flows dst=%s sent=%d\n", dst, count);
	return 0;
}

static int cmd_send(const char *dst, int port, int count, int hoplimit, int srcport)
{
	struct sockaddr_in6 a;
	int fd = sender(dst, port, srcport, &a);
	char payload[64];

	if (fd < 0)
		return die("send: socket or address");
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hoplimit, sizeof(hoplimit)) < 0)
		return die("send: IPV6_UNICAST_HOPS");
	for (int i = 0; i < count; i++) {
		int n = snprintf(payload, sizeof(payload), "dex-vm-probe %d", i);

		if (sendto(fd, payload, n, 0, (struct sockaddr *)&a, sizeof(a)) != n)
			return die("send: sendto");
		usleep(20000);
	}
	printf("send dst=%s sent=%d\n", dst, count);
	return 0;
}

/* Flow ID and Sequence Number of the IOAM DEX option in a Hop-by-Hop header, -1 if absent. */
static void dex_fields(const unsigned char *h, int len, long *flow, long *seq)
{
	int off = 2;

	*flow = *seq = -1;
	while (off + 2 <= len) {
		const unsigned char *o = h + off;

		if (o[0] == 0) {	/* Pad1 */
			off++;
			continue;
		}
		/* IOAM (49), IOAM type DEX (4): Namespace-ID, Flags, Ext-Flags, Trace-Type, fields */
		if (o[0] == 49 && o[1] >= 10 && o[3] == 4 && off + 2 + o[1] <= len) {
			const unsigned char *f = o + 12;
			unsigned char ext = o[7];

			if (ext & 0x80) {
				*flow = (long)f[0] << 24 | f[1] << 16 | f[2] << 8 | f[3];
				f += 4;
			}
			if (ext & 0x40)
				*seq = (long)f[0] << 24 | f[1] << 16 | f[2] << 8 | f[3];
		}
		off += 2 + o[1];
	}
}

static int cmd_recv(int port, int count, int seconds)
{
	long deadline = now_ms() + seconds * 1000L;
	int fd = bound_socket(port), one = 1, got = 0, with_hbh = 0;

	if (fd < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPOPTS, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)) < 0)
		return die("recv: socket");
	printf("recv listening port=%d\n", port);
	fflush(stdout);
	while (got < count && wait_readable(fd, deadline) > 0) {
		char buf[2048], ctrl[1024];
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = ctrl, .msg_controllen = sizeof(ctrl) };
		int hbh = 0, hlim = -1;
		long flow = -1, seq = -1;

		if (recvmsg(fd, &m, 0) < 0)
			return die("recv: recvmsg");
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			if (c->cmsg_level != IPPROTO_IPV6)
				continue;
			if (c->cmsg_type == IPV6_HOPOPTS) {
				hbh = 1;
				dex_fields(CMSG_DATA(c), c->cmsg_len - CMSG_LEN(0), &flow, &seq);
			}
			else if (c->cmsg_type == IPV6_HOPLIMIT)
				memcpy(&hlim, CMSG_DATA(c), sizeof(hlim));
		}
		got++;
		with_hbh += hbh;
		printf("recv packet hbh=%d hoplimit=%d dex_flow=%ld dex_seq=%ld\n",
		       hbh, hlim, flow, seq);
	}
	printf("recv total=%d with_hbh=%d\n", got, with_hbh);
	return got == count ? 0 : 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "send"))
		return cmd_send(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]),
				argc == 7 ? atoi(argv[6]) : 0);
	if (argc == 6 && !strcmp(argv[1], "flows"))
		return cmd_flows(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	if (argc == 5 && !strcmp(argv[1], "recv"))
		return cmd_recv(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: dex-vm-probe send DST PORT COUNT HOPLIMIT [SRCPORT]"
		" | flows DST PORT SRCPORT COUNT | recv PORT COUNT SECONDS\n");
	return 2;
}
