"""Which peers may say who the client is: ``SHARELOG_TRUSTED_PROXIES``."""

from __future__ import annotations

import ipaddress

from sharelog.geo.locator import parse_ip

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """A comma list of CIDRs (a bare address is one host); raise ValueError naming a bad one."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"SHARELOG_TRUSTED_PROXIES: not a CIDR: {item!r}") from None
    return tuple(networks)


class TrustedProxies:
    def __init__(self, networks: tuple[Network, ...]) -> None:
        self.networks = networks

    def trusts(self, host: str) -> bool:
        ip = parse_ip(host)
        return ip is not None and any(ip in n for n in self.networks)

    def client_of(self, peer: str, forwarded_for: list[str]) -> str:
        """The client's address: the peer, or, from a trusted peer, the last hop of
        ``X-Forwarded-For`` that is not a trusted proxy (the ones before it could be forged)."""
        if not self.networks or not self.trusts(peer):
            return peer
        hops = [h.strip() for line in forwarded_for for h in line.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return hop if parse_ip(hop) is not None else peer
        return hops[0] if hops else peer
