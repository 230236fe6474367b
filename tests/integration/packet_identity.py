"""The packet identity of common/ioam/packet_identity.cpp, bit for bit, so that tests can say
which packets consistent sampling keeps (identity % N == 0) without asking the exporters."""

MASK = (1 << 64) - 1


def mix(h, v):
    h ^= (v + 0x9e3779b97f4a7c15 + ((h << 6) & MASK) + (h >> 2)) & MASK
    h &= MASK
    h ^= h >> 30
    h = (h * 0xbf58476d1ce4e5b9) & MASK
    h ^= h >> 27
    h = (h * 0x94d049bb133111eb) & MASK
    return h ^ (h >> 31)


def identity(record):
    """Identity of an API trace record (nodes newest first) with a timestamped oldest hop."""
    oldest = record["nodes"][-1]
    h = mix(0, record["namespace"])
    h = mix(h, oldest["node_id"])
    h = mix(h, oldest["timestamp_secs"])
    return mix(h, oldest["timestamp_frac"])
