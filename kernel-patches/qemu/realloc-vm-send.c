// SPDX-License-Identifier: GPL-2.0
// Packet source of the run-realloc-test.sh guest: sends COUNT IPv6/UDP packets of SIZE payload
// octets, either through an AF_INET6 datagram socket or as whole Ethernet frames through an
// AF_PACKET raw socket. The two arrive at the next hop with different headroom (a socket
// reserves the device's LL_RESERVED_SPACE in front of the IPv6 header; a raw frame is
// allocated with it in front of the Ethernet header), which is what the measurement varies.
//
//   realloc-vm-send udp DST PORT COUNT SIZE
//   realloc-vm-send packet IFNAME DSTMAC SRC DST PORT COUNT SIZE
//
// Prints "sent N" and exits 0 when every packet was accepted by the kernel.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PAYLOAD 1400

static int usage(void)
{
	fprintf(stderr, "usage: realloc-vm-send udp DST PORT COUNT SIZE\n"
			"       realloc-vm-send packet IFNAME DSTMAC SRC DST PORT COUNT SIZE\n");
	return 2;
}

static int parse_count(const char *s, long max, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

static int send_udp(char **argv)
{
	struct sockaddr_in6 dst = { .sin6_family = AF_INET6 };
	static char payload[MAX_PAYLOAD];
	long port, count, size, sent = 0;
	int fd;

	if (inet_pton(AF_INET6, argv[0], &dst.sin6_addr) != 1 ||
	    parse_count(argv[1], 65535, &port) || parse_count(argv[2], 1000000, &count) ||
	    parse_count(argv[3], MAX_PAYLOAD, &size))
		return usage();
	dst.sin6_port = htons((uint16_t)port);
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	for (; sent < count; sent++)
		if (sendto(fd, payload, (size_t)size, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			perror("sendto");
			break;
		}
	close(fd);
	printf("sent %ld\n", sent);
	return sent == count ? 0 : 1;
}

static int parse_mac(const char *s, unsigned char mac[ETH_ALEN])
{
	unsigned int b[ETH_ALEN];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -1;
	for (int i = 0; i < ETH_ALEN; i++)
		mac[i] = (unsigned char)b[i];
	return 0;
}

// Ethernet + IPv6 + UDP headers and a zero payload. The UDP checksum is left 0: the frame is
// forwarded by the router under test and dropped by the next hop, nobody verifies it.
static size_t build_frame(unsigned char *frame, const unsigned char dmac[ETH_ALEN],
			  const unsigned char smac[ETH_ALEN], const struct in6_addr *src,
			  const struct in6_addr *dst, uint16_t port, size_t size)
{
	struct ethhdr *eth = (struct ethhdr *)frame;
	struct ip6_hdr *ip6 = (struct ip6_hdr *)(eth + 1);
	struct udphdr *udp = (struct udphdr *)(ip6 + 1);

	memcpy(eth->h_dest, dmac, ETH_ALEN);
	memcpy(eth->h_source, smac, ETH_ALEN);
	eth->h_proto = htons(ETH_P_IPV6);
	memset(ip6, 0, sizeof(*ip6));
	ip6->ip6_flow = htonl(6u << 28);
	ip6->ip6_plen = htons((uint16_t)(sizeof(*udp) + size));
	ip6->ip6_nxt = IPPROTO_UDP;
	ip6->ip6_hlim = 64;
	ip6->ip6_src = *src;
	ip6->ip6_dst = *dst;
	udp->source = htons(port);
	udp->dest = htons(port);
	udp->len = ip6->ip6_plen;
	udp->check = 0;
	memset(udp + 1, 0, size);
	return sizeof(*eth) + sizeof(*ip6) + sizeof(*udp) + size;
}

static int send_packet(char **argv)
{
	static unsigned char frame[sizeof(struct ethhdr) + sizeof(struct ip6_hdr) +
				   sizeof(struct udphdr) + MAX_PAYLOAD];
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_halen = ETH_ALEN };
	unsigned char dmac[ETH_ALEN], smac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
	struct in6_addr src, dst;
	long port, count, size, sent = 0;
	size_t len;
	int fd;

	ll.sll_ifindex = (int)if_nametoindex(argv[0]);
	if (ll.sll_ifindex == 0 || parse_mac(argv[1], dmac) ||
	    inet_pton(AF_INET6, argv[2], &src) != 1 || inet_pton(AF_INET6, argv[3], &dst) != 1 ||
	    parse_count(argv[4], 65535, &port) || parse_count(argv[5], 1000000, &count) ||
	    parse_count(argv[6], MAX_PAYLOAD, &size))
		return usage();
	memcpy(ll.sll_addr, dmac, ETH_ALEN);
	len = build_frame(frame, dmac, smac, &src, &dst, (uint16_t)port, (size_t)size);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	for (; sent < count; sent++)
		if (sendto(fd, frame, len, 0, (struct sockaddr *)&ll, sizeof(ll)) < 0) {
			perror("sendto");
			break;
		}
	close(fd);
	printf("sent %ld\n", sent);
	return sent == count ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "udp") == 0)
		return send_udp(argv + 2);
	if (argc == 9 && strcmp(argv[1], "packet") == 0)
		return send_packet(argv + 2);
	return usage();
}
