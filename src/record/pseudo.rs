//! Pseudonymisation: consistent stand-ins for what identifies a tenant.
//!
//! Every stand-in is a keyed hash (HMAC-SHA-256) of the original under a key drawn at the
//! start of a run. The key lives only in the unfinished folder's state file (so `--resume`
//! gives the same stand-ins) and is deleted before the folder is renamed into place: the
//! finished folder cannot be reversed, not even by brute force over the IPv4 space.
//!
//! The same value maps to the same stand-in in every file, so relations hold:
//!
//! | kind | original | stand-in |
//! | --- | --- | --- |
//! | IPv4 | `10.10.30.21` | the first three octets replaced (a bijection on /24 networks), the last kept: addresses of one /24 stay in one /24, in order, so ranges within it stay exact ranges |
//! | IPv4 range | `10.10.10.1-10.10.31.255` | one exact range per /24 it covers (comma-separated), up to 4,096; a wider range maps its two ends |
//! | IPv6 | any | an address in `fd00::/8` |
//! | host name | `xp-30-32.corp.example.com` | `host-<8 hex>.<domain stand-in>` — the first label and the domain each mapped |
//! | NetBIOS name | `XP-30-32` | `HOST-<8 HEX>`: the same hash as the host name's first label, upper case |
//! | user name | `jdoe` | `user-<8 hex>`; display names `User <8 hex>` |
//! | UUID | any | a UUID (version 4 form) |
//! | MAC address | any | a locally administered address, `02:…` |

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The stand-in maker; `None` key means values are kept as recorded.
#[derive(Clone)]
pub(crate) struct Pseudo {
    key: Option<Vec<u8>>,
}

impl Pseudo {
    pub(crate) fn off() -> Pseudo {
        Pseudo { key: None }
    }

    pub(crate) fn with_key(key: Vec<u8>) -> Pseudo {
        Pseudo { key: Some(key) }
    }

    /// A fresh random key, as hex.
    pub(crate) fn new_key_hex() -> String {
        let a = uuid::Uuid::new_v4();
        let b = uuid::Uuid::new_v4();
        a.as_bytes()
            .iter()
            .chain(b.as_bytes())
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub(crate) fn from_hex(hex: &str) -> Option<Pseudo> {
        if !hex.len().is_multiple_of(2) {
            return None;
        }
        let bytes: Option<Vec<u8>> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect();
        bytes.map(Pseudo::with_key)
    }

    pub(crate) fn is_on(&self) -> bool {
        self.key.is_some()
    }

    fn digest(&self, kind: &str, value: &str) -> [u8; 32] {
        let key = self.key.as_deref().unwrap_or_default();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key");
        mac.update(kind.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn hex8(&self, kind: &str, value: &str) -> String {
        self.digest(kind, value)[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// An IPv4 or IPv6 address; anything else is treated as a host name.
    pub(crate) fn address(&self, value: &str) -> String {
        if self.key.is_none() || value.is_empty() {
            return value.to_owned();
        }
        match value.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(v4)) => self.ipv4(v4).to_string(),
            Ok(std::net::IpAddr::V6(v6)) => self.ipv6(v6).to_string(),
            Err(_) => self.hostname(value),
        }
    }

    fn ipv4(&self, ip: std::net::Ipv4Addr) -> std::net::Ipv4Addr {
        let [a, b, c, d] = ip.octets();
        let [x, y, z] = self.network24([a, b, c]);
        std::net::Ipv4Addr::new(x, y, z, d)
    }

    /// A keyed permutation of the 2^24 /24 networks (a 4-round Feistel network on 24 bits,
    /// so distinct networks never collide).
    fn network24(&self, prefix: [u8; 3]) -> [u8; 3] {
        let mut left = u32::from(prefix[0]) << 4 | u32::from(prefix[1]) >> 4;
        let mut right = (u32::from(prefix[1]) & 0x0f) << 8 | u32::from(prefix[2]);
        for round in 0..4u8 {
            let f = self.digest("ipv4-round", &format!("{round}:{right}"));
            let f = (u32::from(f[0]) << 4 | u32::from(f[1]) >> 4) & 0xfff;
            let next = left ^ f;
            left = right;
            right = next;
        }
        let joined = left << 12 | right;
        [(joined >> 16) as u8, (joined >> 8) as u8, joined as u8]
    }

    fn ipv6(&self, ip: std::net::Ipv6Addr) -> std::net::Ipv6Addr {
        let d = self.digest("ipv6", &ip.to_string());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&d[..16]);
        bytes[0] = 0xfd;
        std::net::Ipv6Addr::from(bytes)
    }

    /// A comma-separated list of addresses and `a-b` ranges (CM profile targets).
    pub(crate) fn address_list(&self, value: &str) -> String {
        if self.key.is_none() {
            return value.to_owned();
        }
        value
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| match item.split_once('-') {
                Some((start, end)) => self.range(start.trim(), end.trim()),
                None => self.address(item),
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    fn range(&self, start: &str, end: &str) -> String {
        let (Ok(a), Ok(b)) = (
            start.parse::<std::net::Ipv4Addr>(),
            end.parse::<std::net::Ipv4Addr>(),
        ) else {
            return format!("{}-{}", self.address(start), self.address(end));
        };
        let (lo, hi) = (
            u32::from(a).min(u32::from(b)),
            u32::from(a).max(u32::from(b)),
        );
        let (first, last) = (lo >> 8, hi >> 8);
        if last - first >= 4096 {
            let (x, y) = (self.ipv4(lo.into()), self.ipv4(hi.into()));
            let (x, y) = (
                u32::from(x).min(u32::from(y)),
                u32::from(x).max(u32::from(y)),
            );
            return format!(
                "{}-{}",
                std::net::Ipv4Addr::from(x),
                std::net::Ipv4Addr::from(y)
            );
        }
        (first..=last)
            .map(|net| {
                let from = if net == first { lo & 0xff } else { 0 };
                let to = if net == last { hi & 0xff } else { 255 };
                let base = self.ipv4((net << 8).into());
                let base = u32::from(base) & !0xff;
                let (x, y) = (
                    std::net::Ipv4Addr::from(base | from),
                    std::net::Ipv4Addr::from(base | to),
                );
                if x == y {
                    x.to_string()
                } else {
                    format!("{x}-{y}")
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A DNS host name: first label and domain mapped apart.
    pub(crate) fn hostname(&self, value: &str) -> String {
        if self.key.is_none() || value.is_empty() {
            return value.to_owned();
        }
        let lower = value.to_ascii_lowercase();
        match lower.split_once('.') {
            Some((label, domain)) => format!(
                "host-{}.d-{}.example",
                self.hex8("label", label),
                self.hex8("domain", domain)
            ),
            None => format!("host-{}", self.hex8("label", &lower)),
        }
    }

    /// A NetBIOS name: consistent with [`Pseudo::hostname`] of the same host.
    pub(crate) fn netbios(&self, value: &str) -> String {
        if self.key.is_none() || value.is_empty() {
            return value.to_owned();
        }
        format!(
            "HOST-{}",
            self.hex8("label", &value.to_ascii_lowercase())
                .to_ascii_uppercase()
        )
    }

    pub(crate) fn username(&self, value: &str) -> String {
        if self.key.is_none() || value.is_empty() {
            return value.to_owned();
        }
        format!("user-{}", self.hex8("user", value))
    }

    /// A person's display name, keyed by the user's UUID where known.
    pub(crate) fn display_name(&self, value: &str) -> String {
        if self.key.is_none() || value.is_empty() {
            return value.to_owned();
        }
        format!("User {}", self.hex8("name", value))
    }

    pub(crate) fn uuid(&self, value: &str) -> String {
        if self.key.is_none() || value.is_empty() {
            return value.to_owned();
        }
        let d = self.digest("uuid", &value.to_ascii_lowercase());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&d[..16]);
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    pub(crate) fn mac(&self, value: &str) -> String {
        if self.key.is_none() || value.is_empty() {
            return value.to_owned();
        }
        let d = self.digest("mac", &value.to_ascii_lowercase());
        format!(
            "02:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            d[0], d[1], d[2], d[3], d[4]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> Pseudo {
        Pseudo::from_hex(&Pseudo::new_key_hex()).unwrap()
    }

    #[test]
    fn off_keeps_everything() {
        let p = Pseudo::off();
        assert_eq!(p.address("10.1.2.3"), "10.1.2.3");
        assert_eq!(p.address_list("10.0.0.1-10.0.3.4"), "10.0.0.1-10.0.3.4");
        assert_eq!(p.hostname("a.b.c"), "a.b.c");
        assert_eq!(p.uuid("x"), "x");
    }

    #[test]
    fn the_same_value_maps_to_the_same_stand_in_and_others_do_not() {
        let p = on();
        assert_eq!(p.address("10.1.2.3"), p.address("10.1.2.3"));
        assert_ne!(p.address("10.1.2.3"), "10.1.2.3");
        assert_eq!(p.hostname("XP-1.corp.com"), p.hostname("xp-1.corp.com"));
        assert_eq!(
            p.netbios("XP-1").to_ascii_lowercase(),
            p.hostname("xp-1").to_ascii_lowercase()
        );
        assert_ne!(p.username("a"), p.username("b"));
        let u = p.uuid("3d41baf9-7caa-4269-9889-d7377aeaace5");
        assert!(uuid::Uuid::parse_str(&u).is_ok());
        assert_ne!(u, "3d41baf9-7caa-4269-9889-d7377aeaace5");
        let other = on();
        assert_ne!(p.username("a"), other.username("a"), "keys differ per run");
    }

    #[test]
    fn networks_never_collide_and_hosts_keep_their_place() {
        let p = on();
        let mut seen = std::collections::HashSet::new();
        for a in 0..=255u8 {
            for c in [0u8, 7, 255] {
                let ip: std::net::Ipv4Addr = p.address(&format!("10.{a}.{c}.9")).parse().unwrap();
                assert_eq!(ip.octets()[3], 9);
                assert!(seen.insert(u32::from(ip) >> 8), "two /24s collided");
            }
        }
    }

    #[test]
    fn a_range_stays_exact_ranges_holding_its_hosts() {
        let p = on();
        let mapped = p.address_list("10.10.10.1-10.10.12.20, 192.168.1.5");
        let parts: Vec<&str> = mapped.split(',').collect();
        assert_eq!(parts.len(), 4, "{mapped}");
        let host = p.address("10.10.11.77");
        let inside = parts[..3].iter().any(|part| {
            let (a, b) = part.split_once('-').unwrap();
            let (a, b): (std::net::Ipv4Addr, std::net::Ipv4Addr) =
                (a.parse().unwrap(), b.parse().unwrap());
            let h: std::net::Ipv4Addr = host.parse().unwrap();
            a <= h && h <= b
        });
        assert!(inside, "{host} not in {mapped}");
        assert_eq!(parts[3], p.address("192.168.1.5"));
    }
}
