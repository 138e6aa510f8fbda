//! CM profile target lists: `10.10.10.1-10.10.31.255, 10.10.26.252`.

use std::net::IpAddr;

/// A parsed list of addresses and inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRanges(Vec<(IpAddr, IpAddr)>);

impl IpRanges {
    /// Parse a comma-separated list of `a.b.c.d` or `a.b.c.d-e.f.g.h` (IPv4 or IPv6).
    pub fn parse(text: &str) -> Option<IpRanges> {
        let mut ranges = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (lo, hi) = match part.split_once('-') {
                Some((lo, hi)) => (lo.trim().parse().ok()?, hi.trim().parse().ok()?),
                None => {
                    let ip: IpAddr = part.parse().ok()?;
                    (ip, ip)
                }
            };
            if lo.is_ipv4() != hi.is_ipv4() || key(lo) > key(hi) {
                return None;
            }
            ranges.push((lo, hi));
        }
        (!ranges.is_empty()).then_some(IpRanges(ranges))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|(lo, hi)| {
            lo.is_ipv4() == ip.is_ipv4() && key(*lo) <= key(ip) && key(ip) <= key(*hi)
        })
    }
}

fn key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_single_addresses() {
        let r = IpRanges::parse("10.10.10.1-10.10.31.255, 10.10.26.252").unwrap();
        assert!(r.contains("10.10.30.240".parse().unwrap()));
        assert!(r.contains("10.10.10.1".parse().unwrap()));
        assert!(!r.contains("10.10.32.1".parse().unwrap()));
        assert!(IpRanges::parse("10.10.1-10.10.31.255").is_none());
        assert!(IpRanges::parse("10.0.0.9-10.0.0.1").is_none());
        assert!(IpRanges::parse("").is_none());
    }
}
